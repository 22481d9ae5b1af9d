from django import forms

from core.money import format_money
from home.models import ShopSettings
from shipping import addresses
from shipping import services as shipping


class CheckoutForm(forms.Form):
    email = forms.EmailField(
        max_length=254, help_text="We send the order confirmation here."
    )
    name = forms.CharField(label="Full name", max_length=120)
    address_line1 = forms.CharField(label="Address", max_length=200)
    address_line2 = forms.CharField(
        label="Address line 2", max_length=200, required=False
    )
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(label="Postal code", max_length=20)
    country = forms.ChoiceField(
        label="Delivery country", widget=addresses.CountrySelect
    )
    # The country first: the state select offers its states.
    # A select of the delivery countries' states (values such as US-NY); a bare
    # code (NY) is read for the chosen country. The country's rules check it.
    state = forms.CharField(
        label="State, province or region",
        max_length=64,
        required=False,
        widget=addresses.StateSelect,
        help_text="Where the country has them (US states, Canadian provinces, "
        "Italian and Spanish provinces).",
    )
    phone = forms.CharField(
        label="Phone",
        max_length=30,
        required=False,
        help_text="For the courier, if they need to reach you.",
    )
    shipping_method = forms.ChoiceField(
        label="Delivery",
        required=False,
        widget=forms.RadioSelect,
        help_text="Methods for your address; the cheapest if you do not choose.",
    )
    save_address = forms.BooleanField(
        label="Save this address to my account", required=False
    )
    legal_age = forms.BooleanField(
        label="I am of legal drinking age in the delivery country",
        error_messages={
            "required": "Please confirm you are of legal drinking age; we cannot "
            "sell wine otherwise."
        },
    )

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        delivery = ShopSettings.load(request_or_site=request).delivery_countries
        codes = {country.code for country in delivery}
        self.fields["country"].choices = addresses.country_choices(frozenset(codes))
        self.fields["country"].error_messages["invalid_choice"] = (
            "We do not deliver to that country yet."
        )
        self.fields["state"].widget.codes = frozenset(codes)
        # The zones and methods the quotes read, once per catalogue version.
        self.fields["shipping_method"].choices = [
            (
                str(method.pk),
                f"{method.name} ({zone.name}): "
                f"{format_money(method.price)}, {method.estimate}",
            )
            for zone in shipping.rules(request).zones
            for method in zone.active_methods
        ]
        self.fields["shipping_method"].error_messages["invalid_choice"] = (
            "That delivery method is not offered any more; choose another."
        )
        autocomplete = {
            "email": "email",
            "name": "name",
            "address_line1": "address-line1",
            "address_line2": "address-line2",
            "city": "address-level2",
            "postal_code": "postal-code",
            "state": "address-level1",
            "country": "country",
            "phone": "tel",
        }
        for name, token in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = token

    def clean(self):
        data = super().clean()
        country = data.get("country")
        if not country:
            return data
        state = addresses.parse_state(data.get("state"), country)
        if state is None:
            self.add_error(
                "state",
                f"Choose a {addresses.area_name(country)} of the delivery country.",
            )
            return data
        data["state"] = state
        normal, errors = addresses.check(
            country,
            state=data.get("state", ""),
            city=data.get("city", ""),
            postal_code=data.get("postal_code", ""),
            street=data.get("address_line1", ""),
        )
        for field, message in errors.items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        if not errors:
            data.update(normal)
        if not errors:
            self._check_delivery(data)
        if data.get("phone"):
            try:
                data["phone"] = addresses.phone(data["phone"], country)
            except ValueError as invalid:
                self.add_error("phone", str(invalid))
        return data

    def _check_delivery(self, data):
        country, state = data["country"], data.get("state", "")
        if not shipping.charges_shipping():
            return
        options = shipping.methods_for(country, state)
        if not options:
            self.add_error("country", shipping.no_delivery_reason(country, state))
            return
        chosen = data.get("shipping_method")
        if chosen and chosen not in {str(method.pk) for method in options}:
            names = ", ".join(method.name for method in options)
            self.add_error(
                "shipping_method",
                f"That method does not deliver to this address; choose {names}.",
            )
