"""The endpoints of Stripe's API that the shop calls, with Stripe's validation.

Each handler takes the decoded parameters (and ids from the path) and returns the
Stripe object; errors raise ``errors.ErrorResponse``.
"""

import re
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import unquote_plus

from . import intents, objects, payments, store, tax
from .errors import InvalidRequest, missing_parameter, resource_missing
from .models import EmulatedEvent
from .money import MAXIMUM_AMOUNT, MINIMUM_CHARGE, SUPPORTED_CURRENCIES, format_amount
from .params import (
    EXPAND,
    Array,
    Boolean,
    Email,
    Hash,
    Integer,
    Metadata,
    Number,
    String,
    Url,
)

SESSION_WINDOW = (30 * 60, 24 * 60 * 60)
DEFAULT_LIST_LIMIT = 10


class Currency(String):
    def to_python(self, value, name):
        currency = super().to_python(value, name).lower()
        if currency not in SUPPORTED_CURRENCIES:
            raise InvalidRequest(
                f"Invalid currency: {value}. Stripe currently supports these "
                f"currencies: {', '.join(sorted(SUPPORTED_CURRENCIES))}",
                param=name,
            )
        return currency


RETRIEVE = Hash({"expand": EXPAND})
LIST = Hash(
    {
        "limit": Integer(min_value=1, max_value=100),
        "starting_after": String(),
        "ending_before": String(),
        "expand": EXPAND,
    }
)
TAX_BEHAVIOR = String(choices=("exclusive", "inclusive", "unspecified"))
SESSION_CREATE = Hash(
    {
        "mode": String(required=True, choices=("payment", "setup", "subscription")),
        "line_items": Array(
            Hash(
                {
                    "price": String(),
                    "price_data": Hash(
                        {
                            "currency": Currency(required=True),
                            "unit_amount": Integer(
                                min_value=0, max_value=MAXIMUM_AMOUNT
                            ),
                            "product": String(),
                            "product_data": Hash(
                                {
                                    "name": String(required=True),
                                    "description": String(max_length=40000),
                                    "metadata": Metadata(),
                                    "tax_code": String(),
                                }
                            ),
                            "tax_behavior": TAX_BEHAVIOR,
                        }
                    ),
                    "quantity": Integer(min_value=1, max_value=999999),
                }
            ),
            max_items=100,
        ),
        "discounts": Array(Hash({"coupon": String(), "promotion_code": String()})),
        "shipping_options": Array(
            Hash(
                {
                    "shipping_rate": String(),
                    "shipping_rate_data": Hash(
                        {
                            "type": String(choices=("fixed_amount",)),
                            "display_name": String(required=True, max_length=100),
                            "fixed_amount": Hash(
                                {
                                    "amount": Integer(
                                        required=True,
                                        min_value=0,
                                        max_value=MAXIMUM_AMOUNT,
                                    ),
                                    "currency": Currency(required=True),
                                }
                            ),
                            "delivery_estimate": Hash(
                                {
                                    end: Hash(
                                        {
                                            "unit": String(
                                                required=True,
                                                choices=(
                                                    "business_day",
                                                    "day",
                                                    "hour",
                                                    "month",
                                                    "week",
                                                ),
                                            ),
                                            "value": Integer(
                                                required=True, min_value=1
                                            ),
                                        }
                                    )
                                    for end in ("minimum", "maximum")
                                }
                            ),
                            "tax_behavior": TAX_BEHAVIOR,
                            "metadata": Metadata(),
                        }
                    ),
                }
            ),
            max_items=5,
        ),
        "client_reference_id": String(max_length=200),
        "metadata": Metadata(),
        "automatic_tax": Hash(
            {
                "enabled": Boolean(required=True),
                "liability": Hash(
                    {
                        "type": String(required=True, choices=("account", "self")),
                        "account": String(),
                    }
                ),
            }
        ),
        "customer_update": Hash(
            {
                field: String(choices=("auto", "never"))
                for field in ("address", "name", "shipping")
            }
        ),
        "customer": String(),
        "customer_email": Email(max_length=800),
        "customer_creation": String(choices=("always", "if_required")),
        "success_url": Url(required=True),
        "cancel_url": Url(),
        "expires_at": Integer(min_value=0),
        "payment_intent_data": Hash(
            {"metadata": Metadata(), "description": String(max_length=1000)}
        ),
        "currency": Currency(),
        "expand": EXPAND,
    }
)
COUPON_CREATE = Hash(
    {
        "id": String(max_length=200),
        "amount_off": Integer(min_value=1, max_value=MAXIMUM_AMOUNT),
        "currency": Currency(),
        "percent_off": Number(),
        "duration": String(choices=("forever", "once", "repeating")),
        "duration_in_months": Integer(min_value=1),
        "max_redemptions": Integer(min_value=1),
        "redeem_by": Integer(min_value=0),
        "name": String(max_length=40),
        "metadata": Metadata(),
        "expand": EXPAND,
    }
)
REFUND_CREATE = Hash(
    {
        "payment_intent": String(),
        "charge": String(),
        "amount": Integer(min_value=1),
        "reason": String(choices=("duplicate", "fraudulent", "requested_by_customer")),
        "metadata": Metadata(),
        "expand": EXPAND,
    }
)
ADDRESS = Hash(
    {
        "line1": String(max_length=5000),
        "line2": String(max_length=5000),
        "city": String(max_length=5000),
        "state": String(max_length=5000),
        "postal_code": String(max_length=5000),
        "country": String(max_length=5000),
    }
)
CUSTOMER_FIELDS = {
    "email": Email(max_length=512),
    "name": String(max_length=256),
    "phone": String(max_length=20),
    "description": String(),
    "metadata": Metadata(),
    "address": ADDRESS,
    "shipping": Hash(
        {
            "name": String(required=True, max_length=5000),
            "phone": String(max_length=5000),
            "address": ADDRESS,
        }
    ),
    "expand": EXPAND,
}
CUSTOMER_CREATE = Hash(CUSTOMER_FIELDS)

# object type -> {field: type of the object its id names}; None: computed.
EXPANDABLE = {
    "checkout.session": {
        "customer": "customer",
        "line_items": None,
        "payment_intent": "payment_intent",
    },
    "payment_intent": {"customer": "customer", "latest_charge": "charge"},
    "charge": {"customer": "customer", "payment_intent": "payment_intent"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
    "price": {"product": "product"},
}


def create_checkout_session(params):
    params = SESSION_CREATE.clean(params)
    if params["mode"] != "payment":
        raise InvalidRequest(
            "The Stripe emulator implements Checkout only in mode=payment.",
            param="mode",
        )
    if not params.get("line_items"):
        raise missing_parameter("line_items")
    lines = [
        _line(item, f"line_items[{i}]") for i, item in enumerate(params["line_items"])
    ]
    currency = lines[0]["currency"]
    for i, line in enumerate(lines):
        if line["currency"] != currency:
            raise InvalidRequest(
                "All line items must have the same currency; line_items[0] is in "
                f"{currency} and line_items[{i}] in {line['currency']}.",
                param=f"line_items[{i}][price_data][currency]",
            )
    if params.get("currency", currency) != currency:
        raise InvalidRequest(
            f"The currency {params['currency']} does not match the line items' "
            f"currency {currency}.",
            param="currency",
        )
    subtotal = sum(line["unit_amount"] * line["quantity"] for line in lines)
    coupon = _session_coupon(params.get("discounts", []), currency)
    discount = _discount(coupon, subtotal)
    rate = _shipping_rate(params.get("shipping_options", []), currency)
    shares = _allocate(
        discount, [line["unit_amount"] * line["quantity"] for line in lines]
    )
    customer = _session_customer(params)
    taxed = _automatic_tax(params, lines, shares, rate, customer)
    total = (
        subtotal
        - discount
        + (rate["fixed_amount"]["amount"] if rate else 0)
        + taxed["added"]
    )
    if total > MAXIMUM_AMOUNT:
        raise InvalidRequest(
            "The Checkout Session's total amount due must be no more than "
            f"{format_amount(MAXIMUM_AMOUNT, currency)} {currency}",
            code="amount_too_large",
        )
    if 0 < total < MINIMUM_CHARGE.get(currency, 0):
        minimum = format_amount(MINIMUM_CHARGE[currency], currency)
        raise InvalidRequest(
            "The Checkout Session's total amount due must add up to at least "
            f"{minimum} {currency}",
            code="amount_too_small",
        )
    session = objects.checkout_session(
        currency=currency,
        amount_subtotal=subtotal,
        amount_discount=discount,
        discounts=[{"coupon": coupon["id"], "promotion_code": None}] if coupon else [],
        expires_at=_expires_at(params.get("expires_at")),
        success_url=params["success_url"],
        cancel_url=params.get("cancel_url"),
        client_reference_id=params.get("client_reference_id"),
        customer=customer,
        customer_email=params.get("customer_email"),
        customer_creation=params.get("customer_creation"),
        metadata=params.get("metadata"),
        shipping_rate=rate,
        automatic_tax=taxed["automatic_tax"],
        amount_tax=taxed["amount_tax"],
        tax_added=taxed["added"],
        shipping_tax=taxed["shipping_tax"],
    )
    internal = {
        "payment_intent_data": params.get("payment_intent_data", {}),
        "tax_breakdown": taxed["breakdown"],
    }
    # The session, its products and line items are new: one INSERT for all
    created = [(session, "", 0, internal)]
    for position, (line, share, line_tax) in enumerate(
        zip(lines, shares, taxed["lines"], strict=True)
    ):
        product = objects.product(**line["product_data"])
        created.append((product, "", 0, None))
        price = objects.price(
            currency=currency,
            unit_amount=line["unit_amount"],
            product_id=product["id"],
            tax_behavior=line.get("tax_behavior", "unspecified"),
        )
        item = objects.line_item(
            price=price,
            description=product["name"],
            quantity=line["quantity"],
            amount_discount=share,
            amount_tax=line_tax,
            tax_added=line.get("tax_behavior") == "exclusive",
        )
        created.append((item, session["id"], position, None))
    store.create(*created)
    return expand(session, params.get("expand", []))


INTENT_CREATE = Hash(
    {
        "amount": Integer(required=True, min_value=1, max_value=MAXIMUM_AMOUNT),
        "currency": Currency(required=True),
        "automatic_payment_methods": Hash(
            {
                "enabled": Boolean(required=True),
                "allow_redirects": String(choices=("always", "never")),
            }
        ),
        "payment_method_types": Array(String(choices=("card",))),
        "metadata": Metadata(),
        "customer": String(),
        "description": String(max_length=1000),
        "receipt_email": Email(),
        "payment_method": String(),
        "confirm": Boolean(),
        "return_url": Url(),
        "expand": EXPAND,
    }
)
INTENT_UPDATE = Hash(
    {
        "amount": Integer(min_value=1, max_value=MAXIMUM_AMOUNT),
        "currency": Currency(),
        "metadata": Metadata(),
        "description": String(max_length=1000),
        "receipt_email": Email(),
        "payment_method": String(),
        "expand": EXPAND,
    }
)
INTENT_CONFIRM = Hash(
    {"payment_method": String(), "return_url": Url(), "expand": EXPAND}
)
INTENT_CANCEL = Hash(
    {
        "cancellation_reason": String(
            choices=("duplicate", "fraudulent", "requested_by_customer", "abandoned")
        ),
        "expand": EXPAND,
    }
)


def create_payment_intent(params):
    params = INTENT_CREATE.clean(params)
    amount, currency = params["amount"], params["currency"]
    if amount < MINIMUM_CHARGE.get(currency, 0):
        minimum = format_amount(MINIMUM_CHARGE[currency], currency)
        raise InvalidRequest(
            f"Amount must be at least {minimum} {currency}",
            param="amount",
            code="amount_too_small",
        )
    customer = params.get("customer")
    if customer is not None and store.load("customer", customer) is None:
        raise resource_missing("customer", customer, param="customer")
    intent = intents.create(
        amount=amount,
        currency=currency,
        metadata=params.get("metadata"),
        customer=customer,
        description=params.get("description"),
        receipt_email=params.get("receipt_email"),
    )
    if params.get("confirm"):
        if not params.get("payment_method"):
            raise missing_parameter("payment_method")
        intent = intents.confirm(
            intent["id"], params["payment_method"], return_url=params.get("return_url")
        )
    elif params.get("payment_method"):
        intent = intents.update(
            intent["id"], {"payment_method": params["payment_method"]}
        )
    return expand(intent, params.get("expand", []))


def update_payment_intent(params, intent_id):
    params = INTENT_UPDATE.clean(params)
    changes = {k: v for k, v in params.items() if k != "expand"}
    if "metadata" in changes:
        current = intents.load(intent_id)["metadata"]
        changes["metadata"] = {**current, **changes["metadata"]}
    return expand(intents.update(intent_id, changes), params.get("expand", []))


def confirm_payment_intent(params, intent_id):
    params = INTENT_CONFIRM.clean(params)
    method = params.get("payment_method") or intents.load(intent_id)["payment_method"]
    if not method:
        raise InvalidRequest(
            "You cannot confirm this PaymentIntent because it's missing a payment "
            "method. To confirm the PaymentIntent with the emulator, pass a test "
            "`payment_method` such as pm_card_visa.",
            code="payment_intent_unexpected_state",
        )
    intent = intents.confirm(intent_id, method, return_url=params.get("return_url"))
    return expand(intent, params.get("expand", []))


def cancel_payment_intent(params, intent_id):
    params = INTENT_CANCEL.clean(params)
    intent = intents.cancel(intent_id, params.get("cancellation_reason"))
    return expand(intent, params.get("expand", []))


def retrieve_checkout_session(params, session_id):
    params = RETRIEVE.clean(params)
    session = payments.checkout_session(session_id)
    if session is None:
        raise resource_missing("checkout.session", session_id)
    return expand(session, params.get("expand", []))


def expire_checkout_session(params, session_id):
    params = RETRIEVE.clean(params)
    payments.expire_if_due(session_id)
    return expand(payments.expire(session_id), params.get("expand", []))


def list_line_items(params, session_id):
    params = LIST.clean(params)
    if store.load("checkout.session", session_id) is None:
        raise resource_missing("checkout.session", session_id)
    page = line_items_page(
        session_id,
        limit=params.get("limit", DEFAULT_LIST_LIMIT),
        starting_after=params.get("starting_after"),
        ending_before=params.get("ending_before"),
    )
    return expand(page, params.get("expand", []))


def line_items_page(
    session_id, *, limit=DEFAULT_LIST_LIMIT, starting_after=None, ending_before=None
):
    items = payments.line_items(session_id)
    ids = [item["id"] for item in items]
    start, end = 0, len(items)
    for cursor, param in (
        (starting_after, "starting_after"),
        (ending_before, "ending_before"),
    ):
        if cursor is not None and cursor not in ids:
            raise resource_missing("item", cursor, param=param)
    if ending_before is not None:
        end = ids.index(ending_before)
        start = max(0, end - limit)
        has_more = start > 0
    else:
        if starting_after is not None:
            start = ids.index(starting_after) + 1
        end = min(len(items), start + limit)
        has_more = end < len(items)
    return objects.list_object(
        items[start:end],
        f"/v1/checkout/sessions/{session_id}/line_items",
        has_more=has_more,
    )


def create_coupon(params):
    params = COUPON_CREATE.clean(params)
    amount_off, percent_off = params.get("amount_off"), params.get("percent_off")
    if amount_off is None and percent_off is None:
        raise InvalidRequest("You must pass either `percent_off` or `amount_off`.")
    if amount_off is not None and percent_off is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: amount_off, percent_off.",
            param="percent_off",
        )
    if amount_off is not None and "currency" not in params:
        raise InvalidRequest(
            "You must pass currency when passing amount_off.", param="currency"
        )
    if percent_off is not None and not 0 < percent_off <= 100:
        raise InvalidRequest(
            "Invalid percent_off: must be greater than 0 and at most 100.",
            param="percent_off",
        )
    duration = params.get("duration", "once")
    if (duration == "repeating") != ("duration_in_months" in params):
        raise InvalidRequest(
            "duration_in_months is required with, and only with, duration=repeating.",
            param="duration_in_months",
        )
    redeem_by = params.get("redeem_by")
    if redeem_by is not None and redeem_by <= store.now():
        raise InvalidRequest(
            "Invalid timestamp: must be an integer Unix timestamp in the future.",
            param="redeem_by",
        )
    if "id" in params and store.load("coupon", params["id"]) is not None:
        raise InvalidRequest(
            "Coupon already exists.", param="id", code="resource_already_exists"
        )
    coupon = objects.coupon(
        coupon_id=params.get("id"),
        amount_off=amount_off,
        currency=params.get("currency") if amount_off is not None else None,
        percent_off=percent_off,
        duration=duration,
        duration_in_months=params.get("duration_in_months"),
        max_redemptions=params.get("max_redemptions"),
        redeem_by=redeem_by,
        name=params.get("name"),
        metadata=params.get("metadata"),
    )
    return store.save(coupon)


def create_refund(params):
    params = REFUND_CREATE.clean(params)
    refund = payments.refund(
        payment_intent=params.get("payment_intent"),
        charge=params.get("charge"),
        amount=params.get("amount"),
        reason=params.get("reason"),
        metadata=params.get("metadata"),
    )
    return expand(refund, params.get("expand", []))


def create_customer(params):
    params = CUSTOMER_CREATE.clean(params)
    fields = ("email", "name", "phone", "description", "metadata")
    customer = objects.customer(**{field: params.get(field) for field in fields})
    customer.update(_customer_addresses(params))
    return expand(store.save(customer), params.get("expand", []))


def update_customer(params, object_id):
    params = CUSTOMER_CREATE.clean(params)
    customer = store.load("customer", object_id)
    if customer is None or customer.get("deleted"):
        raise resource_missing("customer", object_id)
    for field in ("email", "name", "phone", "description"):
        if field in params:
            customer[field] = params[field]
    if "metadata" in params:
        customer["metadata"] = {**customer["metadata"], **params["metadata"]}
    customer.update(_customer_addresses(params))
    return expand(store.save(customer), params.get("expand", []))


def _customer_addresses(params):
    """A Customer's ``address`` and ``shipping`` as Stripe keeps them: every
    address field present, null where not given."""
    fields = ("city", "country", "line1", "line2", "postal_code", "state")
    found = {}
    if "address" in params:
        found["address"] = {f: params["address"].get(f) for f in fields}
    if "shipping" in params:
        shipping = params["shipping"]
        found["shipping"] = {
            "address": {f: (shipping.get("address") or {}).get(f) for f in fields},
            "name": shipping["name"],
            "phone": shipping.get("phone"),
        }
    return found


def delete_customer(params, object_id):
    """Stripe keeps a stub that retrieve returns: ``deleted_customer``."""
    Hash({}).clean(params)
    if store.load("customer", object_id) is None:
        raise resource_missing("customer", object_id)
    return store.save({"id": object_id, "object": "customer", "deleted": True})


def retrieve(object_type):
    def handler(params, object_id):
        params = RETRIEVE.clean(params)
        found = store.load(object_type, object_id)
        if found is None:
            raise resource_missing(object_type, object_id)
        return expand(found, params.get("expand", []))

    return handler


def retrieve_event(params, event_id):
    RETRIEVE.clean(params)
    event = EmulatedEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise resource_missing("event", event_id)
    return {**event.data, "pending_webhooks": 0 if event.delivered else 1}


ROUTES = [
    ("POST", r"/v1/checkout/sessions", create_checkout_session),
    ("GET", r"/v1/checkout/sessions/(?P<session_id>[^/]+)", retrieve_checkout_session),
    (
        "POST",
        r"/v1/checkout/sessions/(?P<session_id>[^/]+)/expire",
        expire_checkout_session,
    ),
    ("GET", r"/v1/checkout/sessions/(?P<session_id>[^/]+)/line_items", list_line_items),
    ("POST", r"/v1/coupons", create_coupon),
    ("GET", r"/v1/coupons/(?P<object_id>[^/]+)", retrieve("coupon")),
    ("POST", r"/v1/refunds", create_refund),
    ("GET", r"/v1/refunds/(?P<object_id>[^/]+)", retrieve("refund")),
    ("GET", r"/v1/shipping_rates/(?P<object_id>[^/]+)", retrieve("shipping_rate")),
    ("POST", r"/v1/payment_intents", create_payment_intent),
    ("GET", r"/v1/payment_intents/(?P<object_id>[^/]+)", retrieve("payment_intent")),
    ("POST", r"/v1/payment_intents/(?P<intent_id>[^/]+)", update_payment_intent),
    (
        "POST",
        r"/v1/payment_intents/(?P<intent_id>[^/]+)/confirm",
        confirm_payment_intent,
    ),
    (
        "POST",
        r"/v1/payment_intents/(?P<intent_id>[^/]+)/cancel",
        cancel_payment_intent,
    ),
    ("GET", r"/v1/charges/(?P<object_id>[^/]+)", retrieve("charge")),
    ("POST", r"/v1/customers", create_customer),
    ("GET", r"/v1/customers/(?P<object_id>[^/]+)", retrieve("customer")),
    ("POST", r"/v1/customers/(?P<object_id>[^/]+)", update_customer),
    ("DELETE", r"/v1/customers/(?P<object_id>[^/]+)", delete_customer),
    ("GET", r"/v1/events/(?P<event_id>[^/]+)", retrieve_event),
]
_COMPILED = [
    (method, re.compile(pattern), handler) for method, pattern, handler in ROUTES
]


def route(method, path):
    """The handler for ``method path`` and the ids it takes from the path."""
    for route_method, pattern, handler in _COMPILED:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return handler, {
                key: unquote_plus(value) for key, value in match.groupdict().items()
            }
    raise InvalidRequest(
        f"Unrecognized request URL ({method}: {path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        status=404,
    )


def expand(obj, paths):
    """Replace ids by the objects they name, for ``expand[]=a.b`` paths."""
    for path in paths:
        _expand(obj, path.split("."), path)
    return obj


def _expand(obj, fields, path):
    field, rest = fields[0], fields[1:]
    kind = obj.get("object")
    if kind == "list" and field == "data":
        for item in obj["data"]:
            if rest:
                _expand(item, rest, path)
        return
    if kind == "checkout.session" and field == "line_items":
        value = line_items_page(obj["id"])
    elif kind == "checkout.session" and fields == ["total_details", "breakdown"]:
        # Includable only: the discounts and taxes that make up the totals.
        discounts = [
            {"amount": obj["total_details"]["amount_discount"], "discount": d}
            for d in obj["discounts"]
        ]
        taxes = store.internal(obj["id"]).get("tax_breakdown", [])
        obj["total_details"]["breakdown"] = {"discounts": discounts, "taxes": taxes}
        return
    elif field in EXPANDABLE.get(kind, {}):
        value = obj.get(field)
        if isinstance(value, str):
            value = store.load(EXPANDABLE[kind][field], value)
    elif isinstance(obj.get(field), dict):
        value = obj[field]
    else:
        raise InvalidRequest(f"This property cannot be expanded ({path}).")
    obj[field] = value
    if rest and value is not None:
        _expand(value, rest, path)


def _line(item, name):
    if "price" in item:
        raise resource_missing("price", item["price"], param=f"{name}[price]")
    if "price_data" not in item:
        raise InvalidRequest(
            f"You must specify either `price` or `price_data` in {name}.", param=name
        )
    if "quantity" not in item:
        raise missing_parameter(f"{name}[quantity]")
    price_data = item["price_data"]
    if "product" in price_data:
        raise resource_missing(
            "product", price_data["product"], param=f"{name}[price_data][product]"
        )
    for field in ("product_data", "unit_amount"):
        if field not in price_data:
            raise missing_parameter(f"{name}[price_data][{field}]")
    return {**price_data, "quantity": item["quantity"]}


def _session_coupon(discounts, currency):
    if not discounts:
        return None
    if len(discounts) > 1:
        raise InvalidRequest(
            "You may only specify one discount per Checkout Session.",
            param="discounts",
        )
    discount = discounts[0]
    if "promotion_code" in discount:
        raise resource_missing(
            "promotion_code",
            discount["promotion_code"],
            param="discounts[0][promotion_code]",
        )
    if set(discount) != {"coupon"}:
        raise missing_parameter("discounts[0][coupon]")
    param = "discounts[0][coupon]"
    coupon = store.load("coupon", discount["coupon"])
    if coupon is None:
        raise resource_missing("coupon", discount["coupon"], param=param)
    redeem_by = coupon["redeem_by"]
    if not coupon["valid"] or (redeem_by is not None and redeem_by <= store.now()):
        raise InvalidRequest(
            f"This coupon ({coupon['id']}) is no longer valid.",
            param=param,
            code="coupon_expired",
        )
    if coupon["amount_off"] is not None and coupon["currency"] != currency:
        raise InvalidRequest(
            f"The coupon {coupon['id']} is in {coupon['currency']}, but this "
            f"Checkout Session is in {currency}.",
            param=param,
        )
    return coupon


def _discount(coupon, subtotal):
    if coupon is None:
        return 0
    if coupon["amount_off"] is not None:
        return min(coupon["amount_off"], subtotal)
    off = Decimal(subtotal) * Decimal(str(coupon["percent_off"])) / 100
    return min(int(off.quantize(Decimal(1), rounding=ROUND_HALF_UP)), subtotal)


def _allocate(discount, subtotals):
    """Share the discount over the lines in proportion, in whole minor units."""
    total = sum(subtotals)
    if not discount or not total:
        return [0] * len(subtotals)
    exact = [Decimal(discount * amount) / total for amount in subtotals]
    shares = [int(share) for share in exact]
    by_remainder = sorted(
        range(len(exact)), key=lambda i: exact[i] - shares[i], reverse=True
    )
    for i in by_remainder[: discount - sum(shares)]:
        shares[i] += 1
    return shares


def _automatic_tax(params, lines, shares, rate, customer_id):
    """Stripe Tax for the session (stripe_emulator/tax.py), or no tax at all."""
    none = {
        "automatic_tax": None,
        "amount_tax": 0,
        "added": 0,
        "shipping_tax": 0,
        "lines": [0] * len(lines),
        "breakdown": [],
    }
    if not params.get("automatic_tax", {}).get("enabled"):
        return none
    behaviors = []
    for i, line in enumerate(lines):
        behavior = line.get("tax_behavior", "unspecified")
        if behavior == "unspecified":
            raise InvalidRequest(
                "Automatic tax requires every price to have a tax_behavior of "
                "`inclusive` or `exclusive` (or a default tax behavior in your "
                "Tax settings).",
                param=f"line_items[{i}][price_data][tax_behavior]",
            )
        behaviors.append(behavior)
    shipping_behavior = rate["tax_behavior"] if rate else "exclusive"
    if rate and shipping_behavior == "unspecified":
        raise InvalidRequest(
            "Automatic tax requires the shipping rate to have a tax_behavior of "
            "`inclusive` or `exclusive`.",
            param="shipping_options[0][shipping_rate_data][tax_behavior]",
        )
    customer = store.load("customer", customer_id) if customer_id else None
    address = tax.location(customer)
    nets = [
        line["unit_amount"] * line["quantity"] - share
        for line, share in zip(lines, shares, strict=True)
    ]
    shipping = rate["fixed_amount"]["amount"] if rate else 0
    line_taxes, shipping_tax, added, breakdown = tax.calculate(
        nets, behaviors, shipping, shipping_behavior, address
    )
    liability = params["automatic_tax"].get("liability") or {"type": "self"}
    return {
        "automatic_tax": {
            "enabled": True,
            "liability": liability,
            "provider": "stripe",
            "status": "complete",
        },
        "amount_tax": sum(line_taxes) + shipping_tax,
        "added": added,
        "shipping_tax": shipping_tax,
        "lines": line_taxes,
        "breakdown": breakdown,
    }


def _shipping_rate(options, currency):
    """The first shipping option's rate (the one the hosted page selects), made
    from its ``shipping_rate_data``; None without options."""
    if not options:
        return None
    option = options[0]
    if "shipping_rate" in option:
        rate = store.load("shipping_rate", option["shipping_rate"])
        if rate is None:
            raise resource_missing(
                "shipping_rate",
                option["shipping_rate"],
                param="shipping_options[0][shipping_rate]",
            )
        return rate
    data = option.get("shipping_rate_data")
    if not data or "fixed_amount" not in data:
        raise missing_parameter("shipping_options[0][shipping_rate_data][fixed_amount]")
    if data["fixed_amount"]["currency"] != currency:
        raise InvalidRequest(
            "The shipping rate's currency must match the line items' currency.",
            param="shipping_options[0][shipping_rate_data][fixed_amount][currency]",
        )
    rate = objects.shipping_rate(
        display_name=data["display_name"],
        amount=data["fixed_amount"]["amount"],
        currency=currency,
        delivery_estimate=data.get("delivery_estimate"),
        tax_behavior=data.get("tax_behavior", "unspecified"),
    )
    return store.save(rate)


def _session_customer(params):
    customer_id = params.get("customer")
    if customer_id is None:
        return None
    for other in ("customer_email", "customer_creation"):
        if other in params:
            raise InvalidRequest(
                f"You may only specify one of these parameters: customer, {other}.",
                param=other,
            )
    customer = store.load("customer", customer_id)
    if customer is None or customer.get("deleted"):
        raise resource_missing("customer", customer_id, param="customer")
    return customer_id


def _expires_at(expires_at):
    now = store.now()
    earliest, latest = now + SESSION_WINDOW[0], now + SESSION_WINDOW[1]
    if expires_at is None:
        return latest
    if expires_at < earliest:
        raise InvalidRequest(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout "
            "Session creation.",
            param="expires_at",
        )
    if expires_at > latest:
        raise InvalidRequest(
            "The `expires_at` timestamp must be less than 24 hours from Checkout "
            "Session creation.",
            param="expires_at",
        )
    return expires_at
