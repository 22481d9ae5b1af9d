"""Sales reports and the admin home's shop panel, over paid orders.

Each report filters orders by the date they were paid, then groups them; the filter
runs before the grouping, so totals always cover exactly the chosen days. Refunded
orders count as sales (they were paid) and their refunds are shown beside them.
"""

from datetime import timedelta
from decimal import Decimal

import django_filters
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Substr, TruncDate
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.reports import ReportView
from wagtail.models import Page
from wagtail.permission_policies import ModelPermissionPolicy

from core.exports import SafeExportMixin
from core.money import shop_currency, summed
from orders.models import Order, OrderLine
from orders.status import SOLD, OrderStatus

MONEY = DecimalField(max_digits=14, decimal_places=2)


def money_sum(expression, **options):
    return Sum(expression, output_field=MONEY, **options)


# A pending order this old has probably been abandoned, or its webhook lost.
STALE = timedelta(hours=1)


class PaidBetweenFilterSet(WagtailFilterSet):
    paid_at = django_filters.DateFromToRangeFilter(
        label="Paid between", widget=DateRangePickerWidget
    )

    class Meta:
        model = Order
        fields = ["paid_at"]


class SalesReportView(SafeExportMixin, ReportView):
    """Subclasses group ``self.paid_orders()`` (already filtered) into rows."""

    filterset_class = PaidBetweenFilterSet
    money_columns = {
        *("subtotal", "discount", "total", "refunded", "net", "revenue"),
        *("sales", "shipping_net", "tax_collected"),
    }
    header_icon = "table"
    paginate_by = 100
    permission_policy = ModelPermissionPolicy(Order)
    permission_required = "view"

    def paid_orders(self):
        orders = Order.objects.filter(status__in=SOLD, paid_at__isnull=False)
        if self.filters and self.filters.is_valid():
            orders = self.filters.filter_queryset(orders)
        return orders

    def get_queryset(self):
        # Sums come back with whatever scale the database gives them (SQLite sums
        # floats): the rows, shown and exported, carry the currency's minor unit.
        money = [name for name in self.list_export if name in self.money_columns]
        return [
            {**row, **{name: summed(row[name]) for name in money}}
            for row in self.rows(self.paid_orders().order_by())
        ]

    def get_filtered_queryset(self):
        return self.get_queryset()

    @property
    def export_filename(self):
        return self.name.replace("_", "-")

    @property
    def index_url_name(self):
        return f"shop_reports:{self.name}"

    @property
    def index_results_url_name(self):
        return f"shop_reports:{self.name}_results"

    # Exports have the columns the report shows, under the same headings.
    @property
    def list_export(self):
        return [column.name for column in self.columns]

    @property
    def export_headings(self):
        return {column.name: column.label for column in self.columns}


def column(name, label):
    return Column(name, label=label, accessor=name)


class SalesByDayView(SalesReportView):
    page_title = "Sales by day"
    name = "sales_by_day"
    columns = [
        column("day", "Day"),
        column("orders", "Orders"),
        column("subtotal", "Subtotal"),
        column("discount", "Discount"),
        column("sales", "Sales less tax and shipping"),
        column("shipping_net", "Shipping less tax"),
        column("tax_collected", "Tax"),
        column("total", "Total"),
        column("refunded", "Refunded"),
        column("net", "Net"),
    ]

    def rows(self, orders):
        return (
            orders.annotate(
                day=TruncDate("paid_at"),
                # per order, before the sums below take these fields' names
                order_sales=SALES_LESS_TAX,
                order_shipping=SHIPPING_LESS_TAX,
            )
            .values("day")
            .annotate(
                orders=Count("pk"),
                subtotal=money_sum("subtotal"),
                discount=money_sum("discount"),
                sales=money_sum("order_sales"),
                shipping_net=money_sum("order_shipping"),
                tax_collected=money_sum("tax"),
                total=money_sum("total"),
                refunded=money_sum("amount_refunded"),
            )
            .annotate(net=F("total") - F("refunded"))
            .order_by("-day")
        )


# An order's goods and shipping without their tax: with prices that include tax,
# the tax is taken out of each; added on top, it was never in them.
INCLUDED = Q(prices_include_tax=True)
NOTHING = Value(Decimal(0), output_field=MONEY)
SALES_LESS_TAX = ExpressionWrapper(
    F("subtotal")
    - F("discount")
    - Case(
        When(INCLUDED, then=F("tax") - F("shipping_tax")),
        default=NOTHING,
        output_field=MONEY,
    ),
    output_field=MONEY,
)
SHIPPING_LESS_TAX = ExpressionWrapper(
    F("shipping")
    - Case(When(INCLUDED, then=F("shipping_tax")), default=NOTHING, output_field=MONEY),
    output_field=MONEY,
)


class TaxCollectedView(SalesReportView):
    page_title = "Tax collected"
    name = "tax_collected"
    columns = [
        column("country", "Country"),
        column("state", "State or province"),
        column("tax_name", "Tax"),
        column("tax_percent", "Rate (%)"),
        column("orders", "Orders"),
        column("taxable", "Taxed sales and shipping"),
        column("tax_collected", "Tax"),
        column("tax_refunded", "Of which on orders refunded in full"),
    ]
    money_columns = {"taxable", "tax_collected", "tax_refunded"}

    def rows(self, orders):
        return (
            orders.exclude(tax_name="")
            .annotate(order_taxed=TAXED)
            .values("country", "state", "tax_name", "tax_percent")
            .annotate(
                orders=Count("pk"),
                taxable=money_sum("order_taxed"),
                tax_collected=money_sum("tax"),
                tax_refunded=Coalesce(
                    money_sum("tax", filter=Q(status=OrderStatus.REFUNDED)), NOTHING
                ),
            )
            .order_by("country", "state", "tax_name")
        )


# What an order's tax was on (without the tax): goods after the discount, and the
# shipping where the rate taxes it.
TAXED = ExpressionWrapper(
    SALES_LESS_TAX
    + Case(
        When(shipping_tax__gt=0, then=SHIPPING_LESS_TAX),
        default=NOTHING,
        output_field=MONEY,
    ),
    output_field=MONEY,
)


LINE_REVENUE = ExpressionWrapper(F("unit_price") * F("quantity"), output_field=MONEY)


class SalesByWineView(SalesReportView):
    page_title = "Sales by wine"
    name = "sales_by_wine"
    columns = [
        column("sku", "SKU"),
        column("wine_name", "Wine"),
        column("variant_label", "Variant"),
        column("orders", "Orders"),
        column("units", "Units"),
        column("revenue", "Revenue before discounts"),
    ]

    def rows(self, orders):
        return (
            OrderLine.objects.filter(order__in=orders)
            .values("sku", "wine_name", "variant_label")
            .annotate(
                orders=Count("order", distinct=True),
                units=Sum("quantity"),
                revenue=money_sum(LINE_REVENUE),
            )
            .order_by("-revenue", "sku")
        )


def ancestor_title(levels_up):
    """The title of the wine page's ancestor ``levels_up`` above it (1: region,
    2: country), found by the prefix of Wagtail's materialised path."""
    wine_path, wine_depth = "variant__page__path", "variant__page__depth"
    return Subquery(
        Page.objects.filter(
            path=Substr(
                OuterRef(wine_path),
                1,
                (OuterRef(wine_depth) - levels_up) * Page.steplen,
            )
        ).values("title")[:1]
    )


class SalesByPlaceView(SalesReportView):
    page_title = "Sales by country and region"
    name = "sales_by_place"
    columns = [
        column("country", "Country"),
        column("region", "Region"),
        column("orders", "Orders"),
        column("units", "Units"),
        column("revenue", "Revenue before discounts"),
    ]

    def rows(self, orders):
        # A wine deleted since the sale has no place left: "Unknown".
        unknown = Value("Unknown")
        return (
            OrderLine.objects.filter(order__in=orders)
            .annotate(
                country=Coalesce(ancestor_title(2), unknown),
                region=Coalesce(ancestor_title(1), unknown),
            )
            .values("country", "region")
            .annotate(
                orders=Count("order", distinct=True),
                units=Sum("quantity"),
                revenue=money_sum(LINE_REVENUE),
            )
            .order_by("country", "region")
        )


class CouponUseView(SalesReportView):
    page_title = "Coupon use"
    name = "coupon_use"
    columns = [
        column("coupon_code", "Coupon"),
        column("orders", "Orders"),
        column("discount", "Discount given"),
        column("total", "Order totals"),
    ]

    def rows(self, orders):
        return (
            orders.exclude(coupon_code="")
            .values("coupon_code")
            .annotate(
                orders=Count("pk"),
                discount=money_sum("discount"),
                total=money_sum("total"),
            )
            .order_by("-discount", "coupon_code")
        )


REPORTS = {
    report.name: report
    for report in (
        SalesByDayView,
        SalesByWineView,
        SalesByPlaceView,
        CouponUseView,
        TaxCollectedView,
    )
}


class ShopSummaryPanel(Component):
    """The admin home's shop figures, for merchants: one query."""

    name = "shop_summary"
    template_name = "checkout/admin/shop_summary_panel.html"
    order = 50

    def get_context_data(self, parent_context):
        now = timezone.now()
        today = timezone.localtime(now).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        week = today - timedelta(days=6)
        sold = Q(status__in=SOLD)
        net = F("total") - F("amount_refunded")
        figures = Order.objects.aggregate(
            today_orders=Count("pk", filter=sold & Q(paid_at__gte=today)),
            today_revenue=money_sum(net, filter=sold & Q(paid_at__gte=today)),
            week_orders=Count("pk", filter=sold & Q(paid_at__gte=week)),
            week_revenue=money_sum(net, filter=sold & Q(paid_at__gte=week)),
            needing_attention=Count("pk", filter=Q(needs_attention=True)),
            stale_pending=Count(
                "pk",
                filter=Q(status=OrderStatus.PENDING, created_at__lte=now - STALE),
            ),
        )
        for name in ("today_revenue", "week_revenue"):
            figures[name] = summed(figures[name])
        return {
            **super().get_context_data(parent_context),
            **figures,
            "currency": shop_currency().upper(),
            "orders_url": reverse("shop_orders:index"),
        }
