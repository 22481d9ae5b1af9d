from django import forms
from django_countries import countries

from home.models import ShopSettings


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
    country = forms.ChoiceField(label="Delivery country")
    legal_age = forms.BooleanField(
        label="I am of legal drinking age in the delivery country.",
        error_messages={
            "required": "Please confirm you are of legal drinking age; we cannot "
            "sell wine otherwise."
        },
    )

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        delivery = ShopSettings.load(request_or_site=request).delivery_countries
        codes = {country.code for country in delivery}
        self.fields["country"].choices = [("", "Choose a country")] + [
            (code, name) for code, name in countries if code in codes
        ]
        self.fields["country"].error_messages["invalid_choice"] = (
            "We do not deliver to that country yet."
        )
        autocomplete = {
            "email": "email",
            "name": "name",
            "address_line1": "address-line1",
            "address_line2": "address-line2",
            "city": "address-level2",
            "postal_code": "postal-code",
            "country": "country",
        }
        for name, token in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = token
