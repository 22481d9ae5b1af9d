"""The merchants' admin for orders and the Stripe event ledger: read-only listings.

Money fields are never edited by hand; what changes an order is an action that leaves
a record (the order's status history), built on these views.
"""

import django_filters
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.views.generic import InspectView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy

from . import stripe_api
from .models import Invoice, Order, OrderStatus, StripeEvent


class ReadOnlyPermissionPolicy(ModelPermissionPolicy):
    """View (and export) with the model's view permission; nobody adds, edits or
    deletes through the generic views."""

    def user_has_permission(self, user, action):
        if action in ("add", "change", "delete"):
            return False
        return super().user_has_permission(user, action)


class OrderFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    paid_at = django_filters.DateFromToRangeFilter(
        label="Paid between", widget=DateRangePickerWidget
    )
    coupon_code = django_filters.CharFilter(label="Coupon", lookup_expr="iexact")
    needs_attention = django_filters.BooleanFilter(label="Needs attention")

    class Meta:
        model = Order
        fields = ["status", "paid_at", "coupon_code", "needs_attention"]


class OrderInspectView(InspectView):
    def get_context_data(self, **kwargs):
        order = self.object
        intent = order.stripe_payment_intent_id
        return super().get_context_data(
            order=order,
            lines=order.lines.all(),
            history=order.history.all(),
            invoice=Invoice.objects.filter(order=order).first(),
            payment_url=stripe_api.dashboard_url("payments", intent)
            if intent
            else None,
            **kwargs,
        )


class OrderViewSet(ModelViewSet):
    model = Order
    icon = "list-ul"
    menu_label = "Orders"
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = True
    inspect_view_class = OrderInspectView
    inspect_template_name = "checkout/admin/order_inspect.html"
    filterset_class = OrderFilterSet
    form_fields = ["attention_reason"]  # required by ModelViewSet; editing is denied
    search_fields = ["reference", "email", "name"]
    search_backend_name = None
    list_display = [
        "reference",
        Column("paid_at", label="Paid"),
        "name",
        "email",
        Column("status", accessor="get_status_display", label="Status"),
        Column("total", label="Total"),
        Column("coupon_code", label="Coupon"),
        Column("invoice_state", label="Invoice"),
        BooleanColumn("needs_attention", label="Attention"),
    ]
    list_export = [
        "reference",
        "created_at",
        "paid_at",
        "name",
        "email",
        "status",
        "currency",
        "subtotal",
        "discount",
        "total",
        "amount_refunded",
        "coupon_code",
        "needs_attention",
    ]
    export_filename = "orders"

    def get_queryset(self, request):
        return Order.objects.select_related("invoice")


class StripeEventViewSet(ModelViewSet):
    model = StripeEvent
    icon = "warning"
    menu_label = "Stripe events"
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = True
    search_fields = ["event_id", "type"]
    search_backend_name = None
    list_filter = ["type", "status"]
    form_fields = ["error"]  # required by ModelViewSet; editing is denied
    list_display = [
        "event_id",
        "type",
        Column("received_at", label="Received"),
        Column("processed_at", label="Processed"),
        "status",
        "error",
    ]
    inspect_view_fields = [
        "event_id",
        "type",
        "status",
        "error",
        "received_at",
        "processed_at",
        "payload",
    ]
