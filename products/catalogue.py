"""Browsing the catalogue: the filter form, sorting and pagination shared by the
wines index, country and region pages (PlacePage.browse puts them together)."""

from decimal import Decimal

from django import forms
from django.db.models import F

WINES_PER_PAGE = 12

# Wines without a vintage or a price sort last, on every database.
SORTS = {
    "name": ("Name A–Z", (F("title").asc(), "pk")),
    "price": (
        "Price: low to high",
        (F("from_price").asc(nulls_last=True), "title", "pk"),
    ),
    "-price": (
        "Price: high to low",
        (F("from_price").desc(nulls_last=True), "title", "pk"),
    ),
    "-vintage": (
        "Vintage: newest first",
        (F("vintage").desc(nulls_last=True), "title", "pk"),
    ),
    "vintage": (
        "Vintage: oldest first",
        (F("vintage").asc(nulls_last=True), "title", "pk"),
    ),
}


class WineFilterForm(forms.Form):
    country = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    colour = forms.ChoiceField(
        label="Colour / style",
        required=False,
    )
    grape = forms.ChoiceField(required=False)
    min_price = forms.DecimalField(
        label="Price from", required=False, min_value=0, max_digits=12, decimal_places=2
    )
    max_price = forms.DecimalField(
        label="Price to", required=False, min_value=0, max_digits=12, decimal_places=2
    )
    min_vintage = forms.IntegerField(
        label="Vintage from", required=False, min_value=1900, max_value=2100
    )
    max_vintage = forms.IntegerField(
        label="Vintage to", required=False, min_value=1900, max_value=2100
    )
    sort = forms.ChoiceField(
        required=False, choices=[(key, label) for key, (label, _) in SORTS.items()]
    )

    def __init__(self, data, *, countries, regions, grapes, colours):
        super().__init__(data)
        self.fields["colour"].choices = [("", "Any colour"), *colours]
        self.countries = {page.slug: page for page in countries}
        self.regions = {str(page.pk): page for page in regions}
        self.fields["country"].choices = [("", "All countries")] + [
            (page.slug, page.title) for page in countries
        ]
        self.fields["region"].choices = [("", "All regions")] + [
            (str(page.pk), page.title) for page in regions
        ]
        self.fields["grape"].choices = [("", "Any grape")] + [
            (grape.slug, grape.name) for grape in grapes
        ]

    def clean(self):
        cleaned_data = super().clean()
        low, high = cleaned_data.get("min_price"), cleaned_data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "The upper price must not be below the lower.")
        low, high = cleaned_data.get("min_vintage"), cleaned_data.get("max_vintage")
        if low is not None and high is not None and low > high:
            self.add_error(
                "max_vintage", "The last vintage must not be before the first."
            )
        return cleaned_data

    def filter(self, wines):
        """Apply the valid fields; an invalid one is reported and left out."""
        data = {
            name: value
            for name, value in (self.cleaned_data if self.is_bound else {}).items()
            if name not in self.errors and value not in (None, "")
        }
        if "country" in data:
            wines = wines.descendant_of(self.countries[data["country"]])
        if "region" in data:
            wines = wines.descendant_of(self.regions[data["region"]])
        if "colour" in data:
            wines = wines.filter(colour=data["colour"])
        if "grape" in data:
            wines = wines.filter(grapes__slug=data["grape"])
        if "min_price" in data:
            wines = wines.filter(from_price__gte=Decimal(data["min_price"]))
        if "max_price" in data:
            wines = wines.filter(from_price__lte=Decimal(data["max_price"]))
        # A vintage range leaves out the non-vintage wines
        if "min_vintage" in data:
            wines = wines.filter(vintage__gte=data["min_vintage"])
        if "max_vintage" in data:
            wines = wines.filter(vintage__lte=data["max_vintage"])
        return wines.order_by(*SORTS[data.get("sort", "name")][1])


def canonical_page(request, page):
    """Whether ``?page=`` is absent or names the page shown, as written ("2", not
    "02", nor a page past the last, which the paginator answers with the last)."""
    asked = request.GET.get("page")
    return asked is None or asked == str(page.number)
