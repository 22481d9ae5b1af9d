from wagtail import hooks
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.permissions import register_permission_policy

from coupons.viewsets import CouponViewSet

from .models import Order, StripeEvent
from .viewsets import OrderViewSet, ReadOnlyPermissionPolicy, StripeEventViewSet

register_permission_policy(Order, ReadOnlyPermissionPolicy(Order))
register_permission_policy(StripeEvent, ReadOnlyPermissionPolicy(StripeEvent))


class ShopViewSetGroup(ViewSetGroup):
    """The merchants' "Shop" menu."""

    menu_label = "Shop"
    menu_icon = "cogs"
    menu_order = 150
    items = [
        OrderViewSet("shop_orders", url_prefix="orders"),
        CouponViewSet("coupons"),
        StripeEventViewSet("stripe_events", url_prefix="stripe-events"),
    ]


@hooks.register("register_admin_viewset")
def register_shop_viewsets():
    return ShopViewSetGroup()
