from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.permissions import register_permission_policy

from checkout.models import StripeEvent
from orders.models import Customer, Order
from products.models import StockHold

from .actions import LOG_ACTIONS
from .coupons import CouponViewSet
from .reports import REPORTS, ShopSummaryPanel
from .shipping import ShippingMethodViewSet, ShippingZoneViewSet, TaxRateViewSet
from .viewsets import (
    CustomerViewSet,
    HoldViewSet,
    OrderViewSet,
    ReadOnlyPermissionPolicy,
    StripeEventViewSet,
)

register_permission_policy(Order, ReadOnlyPermissionPolicy(Order))
register_permission_policy(StripeEvent, ReadOnlyPermissionPolicy(StripeEvent))
register_permission_policy(Customer, ReadOnlyPermissionPolicy(Customer))
register_permission_policy(StockHold, ReadOnlyPermissionPolicy(StockHold))


class ShopViewSetGroup(ViewSetGroup):
    """The merchants' "Shop" menu."""

    menu_label = "Shop"
    menu_icon = "cogs"
    menu_order = 150
    items = [
        OrderViewSet("shop_orders", url_prefix="orders"),
        CustomerViewSet("shop_customers", url_prefix="customers"),
        CouponViewSet("coupons"),
        StripeEventViewSet("stripe_events", url_prefix="stripe-events"),
        HoldViewSet("shop_holds", url_prefix="holds"),
        ShippingZoneViewSet("shipping_zones", url_prefix="shipping-zones"),
        ShippingMethodViewSet("shipping_methods", url_prefix="shipping-methods"),
        TaxRateViewSet("tax_rates", url_prefix="tax-rates"),
    ]


@hooks.register("register_admin_viewset")
def register_shop_viewsets():
    return ShopViewSetGroup()


@hooks.register("register_log_actions")
def register_order_log_actions(actions):
    for action, (label, message) in LOG_ACTIONS.items():
        actions.register_action(action, label, message)


def can_see_orders(request):
    return request.user.has_perm("checkout.view_order")


class SalesReportMenuItem(MenuItem):
    def is_shown(self, request):
        return can_see_orders(request)


@hooks.register("register_admin_urls")
def register_report_urls():
    urls = []
    for name, view in REPORTS.items():
        slug = name.replace("_", "-")
        urls += [
            path(f"{slug}/", view.as_view(), name=name),
            path(
                f"{slug}/results/",
                view.as_view(results_only=True),
                name=f"{name}_results",
            ),
        ]
    return [path("shop-reports/", include((urls, "shop_reports")))]


def report_menu_item(name, order):
    def menu_item():
        return SalesReportMenuItem(
            REPORTS[name].page_title,
            reverse(f"shop_reports:{name}"),
            name=f"shop-{name}",
            icon_name="table",
            order=order,
        )

    return menu_item


for position, name in enumerate(REPORTS):
    hooks.register("register_reports_menu_item", report_menu_item(name, 100 + position))


@hooks.register("construct_homepage_panels")
def add_shop_summary(request, panels):
    if can_see_orders(request):
        panels.append(ShopSummaryPanel())
