from django.utils.functional import SimpleLazyObject

from .models import shop_settings


def shop(request):
    """`shop`: the ShopSettings (name, address, contact) every page's header, title
    and footer show, read only when used and kept with the catalogue's version."""
    return {"shop": SimpleLazyObject(lambda: shop_settings(request))}
