"""Shipping zones, their methods and tax rates, for merchants (Shop menu)."""

from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.viewsets.model import ModelViewSet

from shipping.models import ShippingMethod, ShippingZone, TaxRate


class ShippingZoneViewSet(ModelViewSet):
    model = ShippingZone
    add_to_reference_index = False
    icon = "globe"
    menu_label = "Shipping zones"
    add_to_admin_menu = False
    list_display = ["name", Column("countries", label="Countries"), "states"]
    search_fields = ["name"]
    form_fields = ["name", "countries", "states"]


class ShippingMethodViewSet(ModelViewSet):
    model = ShippingMethod
    add_to_reference_index = False
    icon = "mail"
    menu_label = "Shipping methods"
    add_to_admin_menu = False
    list_display = [
        "name",
        "zone",
        Column("price", label="Price"),
        Column("per_bottle", label="Per bottle"),
        Column("free_above", label="Free from"),
        Column("estimate", label="Delivery"),
        BooleanColumn("active"),
    ]
    list_filter = ["zone", "active"]
    search_fields = ["name"]
    form_fields = [
        "zone",
        "name",
        "price",
        "per_bottle",
        "free_above",
        "min_days",
        "max_days",
        "active",
        "sort_order",
    ]


class TaxRateViewSet(ModelViewSet):
    model = TaxRate
    add_to_reference_index = False
    icon = "decimal"
    menu_label = "Tax rates"
    add_to_admin_menu = False
    list_display = [
        "name",
        "country",
        "state",
        Column("rate", label="Rate (%)"),
        BooleanColumn("applies_to_shipping", label="On shipping"),
    ]
    list_filter = ["country"]
    search_fields = ["name", "state"]
    form_fields = ["country", "state", "name", "rate", "applies_to_shipping"]
