from django.conf import settings
from django.db import models


class SavedCart(models.Model):
    """A signed-in shopper's cart, kept past the session for the next login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_cart"
    )
    items = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "saved cart"
        verbose_name_plural = "saved carts"

    def __str__(self):
        return f"Cart of {self.user}"
