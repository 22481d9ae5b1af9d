"""What an order costs: goods − discount + shipping + tax, one computation for the
cart, the order, Stripe, the invoice and the reports.

Rounding is once per line in the currency's minor unit (half up): each line's tax,
and the shipping's. A discount lowers what is taxed: it is spread over the lines in
proportion to their amounts, in minor units, the remainder to the largest shares.
With prices entered tax-inclusive, the tax is the part of each amount already in it
and the total is goods − discount + shipping; tax-exclusive, it is added.
"""

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from core.money import minor_unit, quantize


@dataclass(frozen=True)
class Rate:
    """A tax rate as the computation needs it (shipping.models.TaxRate)."""

    name: str
    percent: Decimal
    country: str = ""
    state: str = ""
    applies_to_shipping: bool = True

    @property
    def label(self):
        return f"{self.name} {self.percent.normalize():f}%"


@dataclass(frozen=True)
class TaxLine:
    label: str
    percent: Decimal
    country: str
    state: str
    taxable: Decimal  # what the tax is on, itself without tax
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    currency: str
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    prices_include_tax: bool = False
    tax_lines: tuple = field(default=())
    shipping_tax: Decimal = Decimal(0)
    rate: Rate | None = None
    # Stripe Tax computes the tax when the shopper pays: none is in these totals.
    tax_at_payment: bool = False

    @property
    def goods(self):
        return self.subtotal - self.discount

    @property
    def tax_added(self):
        """The tax on top of the prices (0 when prices include it)."""
        return Decimal(0) if self.prices_include_tax else self.tax


def shipping_cost(method, bottles, goods, currency):
    """A method's price for ``bottles`` bottles and goods worth ``goods`` after
    the discount; None without a method."""
    if method is None:
        return None
    if method.free_above is not None and goods >= method.free_above:
        return quantize(0, currency)
    return quantize(method.price + method.per_bottle * bottles, currency)


def allocate(discount, amounts, currency):
    """Spread ``discount`` over ``amounts`` in proportion, in minor units, so the
    parts sum to it exactly."""
    unit = minor_unit(currency)
    total = sum(amounts)
    if not discount or not total:
        return [quantize(0, currency) for _ in amounts]
    units = int(discount / unit)
    exact = [Decimal(units) * amount / total for amount in amounts]
    parts = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in exact]
    left = units - sum(parts)
    by_remainder = sorted(
        range(len(amounts)), key=lambda i: (exact[i] - parts[i], amounts[i], -i)
    )
    for index in reversed(by_remainder[-left:] if left else []):
        parts[index] += 1
    return [quantize(part * unit, currency) for part in parts]


def _tax_of(amount, rate, inclusive, currency):
    fraction = rate.percent / Decimal(100)
    if inclusive:
        return quantize(amount * fraction / (1 + fraction), currency)
    return quantize(amount * fraction, currency)


def compute(
    line_amounts,
    discount,
    *,
    currency,
    shipping=None,
    rate=None,
    prices_include_tax=False,
    tax_at_payment=False,
):
    """The totals of goods lines worth ``line_amounts`` (each already a price ×
    quantity in the currency), less ``discount``, plus ``shipping`` (its price, or
    None if not known yet), taxed at ``rate`` (a Rate, or None: no tax)."""
    amounts = [quantize(amount, currency) for amount in line_amounts]
    subtotal = quantize(sum(amounts, Decimal(0)), currency)
    discount = min(quantize(discount or 0, currency), subtotal)
    shipping_amount = quantize(shipping or 0, currency)
    tax_lines = []
    tax = shipping_tax = quantize(0, currency)
    if rate is not None and rate.percent:
        shares = allocate(discount, amounts, currency)
        nets = [amount - share for amount, share in zip(amounts, shares, strict=True)]
        tax = sum(
            (_tax_of(net, rate, prices_include_tax, currency) for net in nets),
            quantize(0, currency),
        )
        taxed = subtotal - discount
        if rate.applies_to_shipping and shipping_amount:
            shipping_tax = _tax_of(shipping_amount, rate, prices_include_tax, currency)
            tax += shipping_tax
            taxed += shipping_amount
        taxable = taxed - tax if prices_include_tax else taxed
        tax_lines = [
            TaxLine(
                label=rate.label,
                percent=rate.percent,
                country=rate.country,
                state=rate.state,
                taxable=taxable,
                amount=tax,
            )
        ]
    added = Decimal(0) if prices_include_tax else tax
    return Totals(
        currency=currency,
        subtotal=subtotal,
        discount=discount,
        shipping=shipping_amount,
        tax=tax,
        total=quantize(subtotal - discount + shipping_amount + added, currency),
        prices_include_tax=prices_include_tax,
        tax_lines=tuple(tax_lines),
        shipping_tax=shipping_tax,
        rate=rate if tax_lines else None,
        tax_at_payment=tax_at_payment,
    )


def as_json(tax_line):
    """A tax line as an order keeps it (amounts as strings, exactly)."""
    return {
        "label": tax_line.label,
        "percent": str(tax_line.percent),
        "country": tax_line.country,
        "state": tax_line.state,
        "taxable": str(tax_line.taxable),
        "amount": str(tax_line.amount),
    }
