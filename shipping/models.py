"""Where the shop delivers and at what price (zones and their methods), and the tax
rates it charges: set by merchants in the admin (Shop › Shipping, Shop › Tax rates)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_countries.fields import CountryField

from .addresses import areas

# Countries whose addresses name a state or province a zone or a rate may select.
STATE_COUNTRIES = ("US", "CA")


def _codes(text):
    return [code.strip().upper() for code in text.split(",") if code.strip()]


class ShippingZone(models.Model):
    name = models.CharField(max_length=100)
    countries = CountryField(multiple=True)
    states = models.CharField(
        "states or provinces",
        max_length=500,
        blank=True,
        help_text="For the US or Canada only: state or province codes, comma "
        "separated (CA, NY, ON). Blank: the whole of each country.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "shipping zone"
        verbose_name_plural = "shipping zones"

    def __str__(self):
        return self.name

    @property
    def state_codes(self):
        return _codes(self.states)

    def clean(self):
        codes = {country.code for country in self.countries}
        if self.states and not codes <= set(STATE_COUNTRIES):
            raise ValidationError(
                {"states": "States or provinces apply to the US and Canada only."}
            )
        known = {code for country in codes for code, _ in areas(country)}
        if unknown := [code for code in self.state_codes if code not in known]:
            raise ValidationError(
                {"states": f"Not a state or province code: {', '.join(unknown)}."}
            )
        self.states = ", ".join(self.state_codes)
        # One zone per place: a zone of some states may sit inside a zone of the
        # whole country (it wins there), but no two zones cover the same place.
        for other in ShippingZone.objects.exclude(pk=self.pk):
            common = codes & {country.code for country in other.countries}
            if not common:
                continue
            mine, theirs = set(self.state_codes), set(other.state_codes)
            if (not mine and not theirs) or (mine & theirs):
                place = ", ".join(sorted(mine & theirs or common))
                raise ValidationError(
                    f"Zone “{other}” already covers {place}; change that zone first."
                )

    def covers(self, country, state=""):
        codes = {c.code for c in self.countries}
        if country not in codes:
            return False
        return not self.state_codes or (state or "").upper() in self.state_codes


class ShippingMethod(models.Model):
    zone = models.ForeignKey(
        ShippingZone, on_delete=models.CASCADE, related_name="methods"
    )
    name = models.CharField(
        max_length=100, help_text="What the shopper chooses, e.g. “Standard courier”."
    )
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Per parcel, in the shop's currency.",
    )
    per_bottle = models.DecimalField(
        "per bottle",
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Added for every bottle (a case of 6 counts 6).",
    )
    free_above = models.DecimalField(
        "free from",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Free when the goods, after any discount, reach this amount. "
        "Blank: never free.",
    )
    min_days = models.PositiveSmallIntegerField(
        "delivery from (days)", default=2, validators=[MaxValueValidator(90)]
    )
    max_days = models.PositiveSmallIntegerField(
        "delivery within (days)", default=5, validators=[MaxValueValidator(90)]
    )
    active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "price", "pk"]
        verbose_name = "shipping method"
        verbose_name_plural = "shipping methods"

    def __str__(self):
        return f"{self.name} ({self.zone})"

    def clean(self):
        if self.min_days > self.max_days:
            raise ValidationError(
                {"max_days": "Delivery within must be at least delivery from."}
            )

    @property
    def estimate(self):
        if self.min_days == self.max_days:
            return f"{self.max_days} working day{'s' if self.max_days != 1 else ''}"
        return f"{self.min_days}–{self.max_days} working days"


class TaxRate(models.Model):
    country = CountryField()
    state = models.CharField(
        "state or province",
        max_length=3,
        blank=True,
        help_text="For the US or Canada: a state's or province's own rate (CA, "
        "ON). Blank: the whole country's.",
    )
    name = models.CharField(
        max_length=50, help_text="As printed on invoices, e.g. VAT, GST, Sales tax."
    )
    rate = models.DecimalField(
        "rate (%)",
        max_digits=6,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    applies_to_shipping = models.BooleanField(
        default=True, help_text="Tax shipping at this rate too."
    )

    class Meta:
        ordering = ["country", "state"]
        verbose_name = "tax rate"
        verbose_name_plural = "tax rates"
        constraints = [
            models.UniqueConstraint(
                fields=["country", "state"], name="one_tax_rate_per_place"
            )
        ]

    def __str__(self):
        place = f"{self.country.code}-{self.state}" if self.state else self.country.code
        return f"{self.name} {self.rate.normalize():f}% ({place})"

    def clean(self):
        self.state = self.state.strip().upper()
        if self.state and self.country.code not in STATE_COUNTRIES:
            raise ValidationError(
                {"state": "States or provinces apply to the US and Canada only."}
            )
        if self.state and self.state not in dict(areas(self.country.code)):
            raise ValidationError(
                {"state": f"Not a state or province of {self.country.name}."}
            )

    @property
    def fraction(self):
        return self.rate / Decimal(100)
