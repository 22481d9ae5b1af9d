from django import template

from cart.badge import badge

register = template.Library()


@register.simple_tag
def cart_badge(cart):
    """``{% cart_badge cart %}``: the header's link to the cart (cart/badge.py)."""
    return badge(getattr(cart, "count", 0) if cart else 0)
