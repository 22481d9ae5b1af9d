from django import forms

from home.models import shop_settings
from shipping import addresses


class DestinationForm(forms.Form):
    """Where the cart's delivery is estimated for, before checkout asks."""

    country = forms.ChoiceField(label="Deliver to", widget=addresses.CountrySelect)
    state = forms.CharField(
        label="State or province",
        max_length=64,
        required=False,
        widget=addresses.StateSelect,
    )

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        delivery = shop_settings(request).delivery_countries
        codes = {country.code for country in delivery}
        self.fields["country"].choices = addresses.country_choices(frozenset(codes))
        self.fields["country"].error_messages["invalid_choice"] = (
            "We do not deliver to that country yet."
        )
        self.fields["state"].widget.codes = frozenset(codes)

    def clean(self):
        data = super().clean()
        country = data.get("country")
        state = addresses.parse_state(data.get("state"), country)
        if country and state:
            state = addresses.normal_state(country, state)
        data["state"] = state or ""
        if country:
            choices = dict(addresses.areas(country))
            if choices and state not in choices:
                self.add_error(
                    "state",
                    f"Choose the {addresses.area_name(country)} to estimate for.",
                )
            elif not choices:
                data["state"] = ""
        return data
