from django.db.models import Count
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.viewsets.model import ModelViewSet

from core.exports import SafeExportIndexView
from coupons.models import Coupon


class CouponIndexView(SafeExportIndexView):
    def get_base_queryset(self):
        # With the uses set aside by checkouts not paid yet (coupons/services.py).
        return super().get_base_queryset().annotate(held_count=Count("holds"))


class CouponViewSet(ModelViewSet):
    model = Coupon
    add_to_reference_index = False  # no page refers to a coupon
    icon = "tag"
    index_view_class = CouponIndexView
    menu_label = "Coupons"
    add_to_admin_menu = False
    list_display = [
        "code",
        "kind",
        Column("value", label="Value"),
        "valid_from",
        "valid_to",
        Column("usage", label="Uses / limit", accessor="usage_display"),
        Column("held", label="Held by checkouts", accessor="held_count"),
        BooleanColumn("active"),
    ]
    list_filter = ["active", "kind", "valid_to"]
    search_fields = ["code", "description"]
    form_fields = [
        "code",
        "description",
        "kind",
        "value",
        "valid_from",
        "valid_to",
        "active",
        "usage_limit",
        "minimum_subtotal",
    ]
    list_export = ["code", "kind", "value", "valid_from", "valid_to", "times_used"]
    export_filename = "coupons"
