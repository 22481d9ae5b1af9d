from django.utils.functional import SimpleLazyObject

from .services import Cart


def cart(request):
    """`cart.count` and `cart.total` for every template, read only when used.

    A template that never mentions the cart costs nothing, and reading it never
    creates a session for a visitor who has none.
    """
    return {"cart": SimpleLazyObject(lambda: Cart.for_request(request))}
