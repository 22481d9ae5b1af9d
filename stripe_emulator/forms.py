import datetime
import re

from django import forms

from .payments import METHODS


def luhn_valid(number):
    digits = [int(digit) for digit in reversed(number)]
    doubled = (sum(divmod(2 * digit, 10)) for digit in digits[1::2])
    return (sum(digits[0::2]) + sum(doubled)) % 10 == 0


class PaymentForm(forms.Form):
    """The hosted page's form; messages follow Stripe Checkout's wording."""

    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    name = forms.CharField(
        label="Name on card",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )
    card_number = forms.CharField(
        label="Card number",
        required=False,
        max_length=23,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "cc-number",
                "inputmode": "numeric",
                "placeholder": "1234 1234 1234 1234",
            }
        ),
    )
    expiry = forms.CharField(
        label="Expiry (MM / YY)",
        required=False,
        max_length=9,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "cc-exp",
                "inputmode": "numeric",
                "placeholder": "MM / YY",
            }
        ),
    )
    cvc = forms.CharField(
        label="CVC",
        required=False,
        max_length=4,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "cc-csc",
                "inputmode": "numeric",
                "placeholder": "CVC",
            }
        ),
    )
    method = forms.ChoiceField(
        choices=[(method, method) for method in METHODS],
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, amount_due, email_locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.amount_due = amount_due
        if email_locked:
            self.fields["email"].disabled = True
        if not amount_due:
            self.fields["name"].label = "Full name"
            self.fields["name"].widget.attrs["autocomplete"] = "name"

    @property
    def by_card(self):
        return self.amount_due > 0 and self.cleaned_data.get("method") != "bank_debit"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                describedby = f"{self[name].auto_id}_error"
                self.fields[name].widget.attrs["aria-describedby"] = describedby

    def clean_method(self):
        return self.cleaned_data["method"] or "card"

    def clean(self):
        cleaned = super().clean()
        if not self.by_card:
            cleaned.update(card_number=None, expiry=None, cvc=None)
            return cleaned
        self._clean_card_number(cleaned.get("card_number", ""))
        self._clean_expiry(cleaned.get("expiry", ""))
        self._clean_cvc(cleaned.get("cvc", ""))
        return cleaned

    def _clean_card_number(self, value):
        number = re.sub(r"[\s-]", "", value)
        if not number:
            self.add_error("card_number", "Your card number is incomplete.")
        elif not (number.isdigit() and 12 <= len(number) <= 19 and luhn_valid(number)):
            self.add_error("card_number", "Your card number is invalid.")
        else:
            self.cleaned_data["card_number"] = number

    def _clean_expiry(self, value):
        match = re.fullmatch(r"\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*", value)
        if not match:
            self.add_error("expiry", "Your card's expiration date is incomplete.")
            return
        month, year = int(match[1]), int(match[2])
        year = year + 2000 if year < 100 else year
        today = datetime.date.today()
        if not 1 <= month <= 12:
            self.add_error("expiry", "Your card's expiration month is invalid.")
        elif (year, month) < (today.year, today.month):
            self.add_error("expiry", "Your card's expiration date is in the past.")
        elif year > today.year + 50:
            self.add_error("expiry", "Your card's expiration year is invalid.")
        else:
            self.cleaned_data["expiry"] = (month, year)

    def _clean_cvc(self, value):
        if not re.fullmatch(r"\s*\d{3,4}\s*", value):
            self.add_error("cvc", "Your card's security code is incomplete.")
