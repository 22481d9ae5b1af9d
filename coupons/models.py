from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Upper


def normalise_code(code):
    return (code or "").strip().upper()


class Coupon(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        FIXED = "fixed", "Fixed amount off"

    code = models.CharField(
        max_length=40,
        help_text="What shoppers type. Case and surrounding spaces do not matter.",
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="Shown to the shopper with the discount."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Percent (up to 100) or an amount in the shop's currency.",
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    usage_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Paid orders it may be used on. Blank: no limit.",
    )
    times_used = models.PositiveIntegerField(default=0, editable=False)
    minimum_subtotal = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "coupon"
        verbose_name_plural = "coupons"
        constraints = [
            models.UniqueConstraint(Upper("code"), name="coupon_code_unique_any_case")
        ]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = normalise_code(self.code)
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        self.code = normalise_code(self.code)
        if not self.code:
            errors["code"] = "Enter a code."
        elif Coupon.objects.filter(code__iexact=self.code).exclude(pk=self.pk).exists():
            errors["code"] = (
                f"There is already a coupon {self.code}; codes ignore upper and "
                "lower case."
            )
        if self.kind == self.Kind.PERCENT and self.value and self.value > 100:
            errors["value"] = "A percentage cannot be above 100."
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            errors["valid_to"] = "The end must be after the start."
        if errors:
            raise ValidationError(errors)

    @property
    def usage_display(self):
        limit = "∞" if self.usage_limit is None else self.usage_limit
        return f"{self.times_used} / {limit}"


class CouponHold(models.Model):
    """A use of a limited coupon set aside for a checkout that may still be paid,
    so a coupon limited to N uses is never given to more than N payers
    (coupons/services.py)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="holds")
    holder = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["coupon", "holder"], name="one_coupon_hold_per_holder"
            )
        ]

    def __str__(self):
        return f"{self.coupon.code} held by {self.holder}"
