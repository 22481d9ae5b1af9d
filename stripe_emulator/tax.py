"""Stripe Tax on Checkout Sessions (``automatic_tax[enabled]=true``), as far as the
emulator goes: the tax for the Customer's address, line by line, on the goods after
their share of the discount and on the shipping, each rounded once, added to the
total (``exclusive``) or found inside it (``inclusive``).

Stripe finds the rate from the account's tax registrations and the product's tax
code; the emulator stands in with one rate per place (``RATES``, or the
``STRIPE_EMULATOR_TAX_RATES`` setting in the same shape). Stripe takes the address
from the Customer's ``shipping``, else its ``address``; a Checkout Session without
a Customer would have Stripe collect one on its page, which the emulator's page
does not do.

https://docs.stripe.com/tax/checkout
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from .errors import InvalidRequest
from .store import new_id, now

# (country, state) -> (display name, percentage, jurisdiction); a country's own
# rate has state "". The combined rates of a few places a wine shop ships to.
RATES = {
    ("US", "NY"): ("Sales Tax", "8.875", "New York"),
    ("US", "CA"): ("Sales Tax", "7.25", "California"),
    ("US", "WA"): ("Sales Tax", "10.25", "Washington"),
    ("CA", "ON"): ("HST", "13", "Ontario"),
    ("CA", "BC"): ("GST", "5", "British Columbia"),
    ("GB", ""): ("VAT", "20", "United Kingdom"),
    ("FR", ""): ("TVA", "20", "France"),
    ("DE", ""): ("USt.", "19", "Germany"),
    ("IT", ""): ("IVA", "22", "Italy"),
    ("ES", ""): ("IVA", "21", "Spain"),
    ("AU", ""): ("GST", "10", "Australia"),
}

NO_ADDRESS = (
    "Automatic tax calculation in Checkout requires a valid address on the "
    "Customer. Add a valid address to the Customer or set either "
    "`customer_update[address]` to 'auto' or `customer_update[shipping]` to 'auto' "
    "to save the address entered in Checkout."
)


def _rates():
    return getattr(settings, "STRIPE_EMULATOR_TAX_RATES", RATES)


def location(customer):
    """The address Stripe Tax uses for the Customer; InvalidRequest if none."""
    if customer is None:
        raise InvalidRequest(
            "The Stripe emulator calculates tax only from an existing Customer's "
            "address (pass `customer` with a `shipping` or `address`); Stripe would "
            "collect the billing address on its page.",
            param="automatic_tax[enabled]",
        )
    address = (customer.get("shipping") or {}).get("address") or customer.get("address")
    if not address or not address.get("country"):
        raise InvalidRequest(NO_ADDRESS, param="customer_update")
    return address


def rate_for(address):
    """The tax rate object for the address (a state's before its country's);
    None where the account is not registered to collect tax."""
    country, state = address["country"], (address.get("state") or "").upper()
    found = _rates().get((country, state)) or _rates().get((country, ""))
    if found is None:
        return None
    name, percentage, jurisdiction = found
    return {
        "id": new_id("txr"),
        "object": "tax_rate",
        "active": True,
        "country": country,
        "created": now(),
        "description": None,
        "display_name": name,
        "effective_percentage": float(percentage),
        "flat_amount": None,
        "inclusive": False,
        "jurisdiction": jurisdiction,
        "jurisdiction_level": "state" if state else "country",
        "livemode": False,
        "metadata": {},
        "percentage": float(percentage),
        "rate_type": "percentage",
        "state": state or None,
        "tax_type": "vat" if not state else "sales_tax",
    }


def tax_of(amount, rate, behavior):
    """The tax on ``amount`` minor units at ``rate`` (exclusive: on top of it;
    inclusive: inside it), rounded half up once."""
    if rate is None or amount <= 0:
        return 0
    percent = Decimal(str(rate["percentage"]))
    base = 100 + percent if behavior == "inclusive" else 100
    return int((Decimal(amount) * percent / base).quantize(Decimal(1), ROUND_HALF_UP))


def calculate(nets, behaviors, shipping, shipping_behavior, address):
    """Stripe Tax for goods lines worth ``nets`` (after their discount share) and
    ``shipping``: ``(line taxes, shipping tax, added to the total, breakdown)``."""
    rate = rate_for(address)
    line_taxes = [
        tax_of(net, rate, behavior)
        for net, behavior in zip(nets, behaviors, strict=True)
    ]
    shipping_tax = tax_of(shipping, rate, shipping_behavior)
    added = sum(
        tax
        for tax, behavior in zip(
            [*line_taxes, shipping_tax], [*behaviors, shipping_behavior], strict=True
        )
        if behavior == "exclusive"
    )
    total_tax = sum(line_taxes) + shipping_tax
    taxable = sum(nets) + shipping - (total_tax - added)
    breakdown = (
        [
            {
                "amount": total_tax,
                "rate": rate,
                "taxability_reason": "standard_rated",
                "taxable_amount": taxable,
            }
        ]
        if rate is not None
        else []
    )
    return line_taxes, shipping_tax, added, breakdown
