from wagtail import hooks
from wagtail.admin.viewsets.base import ViewSetGroup

from .viewsets import CouponViewSet


class ShopViewSetGroup(ViewSetGroup):
    """The merchants' "Shop" menu; later viewsets (orders, reports) join it."""

    menu_label = "Shop"
    menu_icon = "cogs"
    menu_order = 150
    items = [CouponViewSet("coupons")]


@hooks.register("register_admin_viewset")
def register_shop_viewsets():
    return ShopViewSetGroup()
