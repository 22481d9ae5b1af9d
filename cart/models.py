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


class StockAlert(models.Model):
    """A shopper's wish to hear when a sold-out wine is back: asked on the wine's
    page, confirmed from an email (double opt-in), sent once when it is back."""

    variant = models.ForeignKey(
        "products.WineVariant", on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField()
    token = models.CharField(max_length=43, unique=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "email"], name="one_alert_per_wine_and_email"
            )
        ]
        verbose_name = "back-in-stock alert"
        verbose_name_plural = "back-in-stock alerts"

    def __str__(self):
        return f"{self.email}: {self.variant}"
