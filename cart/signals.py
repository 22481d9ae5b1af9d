from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .models import SavedCart
from .services import Cart


@receiver(user_logged_in)
def merge_saved_cart(sender, request, user, **kwargs):
    """Django keeps the session's cart across login(); add the shopper's earlier one."""
    if request is None or not hasattr(request, "session"):
        return
    saved = SavedCart.objects.filter(user=user).values_list("items", flat=True).first()
    cart = Cart.for_request(request)
    cart.merge(saved or {})
    if cart:
        cart.keep_for_account(user)
