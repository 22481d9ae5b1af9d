import re

from django.conf import settings
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from . import intents, payments, store
from .errors import CardError, ErrorResponse, InvalidRequest
from .forms import PaymentForm
from .money import format_amount


@require_http_methods(["GET", "POST"])
def pay(request, session_id):
    """Stripe Checkout's hosted payment page, in test mode."""
    session = payments.checkout_session(session_id)
    if session is None:
        raise Http404("No such Checkout Session.")
    if session["status"] != "open":
        return _closed(request, session)
    customer = store.load("customer", session["customer"] or "")
    locked_email = session["customer_email"] or (customer or {}).get("email")
    form = PaymentForm(
        request.POST if request.method == "POST" else None,
        amount_due=session["amount_total"],
        email_locked=bool(locked_email),
        initial={"email": locked_email or ""},
    )
    error, status = None, 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                payments.pay(
                    session_id,
                    data["card_number"],
                    method=data["method"],
                    email=data["email"],
                    name=data["name"],
                    exp=data["expiry"],
                )
            except payments.CardDeclined as declined:
                error, status = declined.message, 402
            except payments.SessionNotPayable:
                return _closed(request, payments.checkout_session(session_id))
            else:
                return _see_other(_success_url(session))
    return render(
        request,
        "stripe_emulator/pay.html",
        {**_summary(session), "form": form, "error": error},
        status=status,
    )


def _closed(request, session):
    if session["status"] == "expired":
        message, back = "This checkout session has expired.", session["cancel_url"]
    else:
        message, back = "This checkout session is already paid.", _success_url(session)
    context = {**_summary(session), "closed": message, "back_url": back}
    return render(request, "stripe_emulator/pay.html", context)


def _summary(session):
    currency = session["currency"]
    coupon = None
    if session["discounts"]:
        coupon = store.load("coupon", session["discounts"][0]["coupon"])
    lines = [
        {
            "name": item["description"],
            "quantity": item["quantity"],
            "unit_amount": format_amount(item["price"]["unit_amount"], currency),
            "amount": format_amount(item["amount_subtotal"], currency),
        }
        for item in payments.line_items(session["id"])
    ]
    discount = session["total_details"]["amount_discount"]
    tax = session["total_details"]["amount_tax"]
    shipped = session["total_details"]["amount_shipping"]
    rate = None
    if session.get("shipping_cost"):
        rate = store.load("shipping_rate", session["shipping_cost"]["shipping_rate"])
    return {
        "session": session,
        "merchant": getattr(settings, "WAGTAIL_SITE_NAME", "Cellar"),
        "lines": lines,
        "subtotal": format_amount(session["amount_subtotal"], currency),
        "coupon_name": (coupon or {}).get("name") or (coupon or {}).get("id"),
        "discount": format_amount(-discount, currency) if discount else None,
        "shipping": format_amount(session["shipping_cost"]["amount_subtotal"], currency)
        if rate
        else None,
        # Stripe Tax's amount, on top of the prices or inside them
        "tax": format_amount(tax, currency)
        if session["automatic_tax"]["enabled"]
        else None,
        "tax_included": session["amount_total"]
        == session["amount_subtotal"] - discount + shipped,
        "shipping_name": (rate or {}).get("display_name"),
        "total": format_amount(session["amount_total"], currency),
        "amount_due": session["amount_total"],
        "test_cards": payments.TEST_CARDS.values(),
    }


def _success_url(session):
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def _see_other(url):
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@require_http_methods(["GET", "POST"])
def authenticate(request, intent_id):
    """The bank's 3-D Secure page for a PaymentIntent in ``requires_action``: the
    shopper completes or fails the check, and goes back to the ``return_url`` with
    ``payment_intent``, ``payment_intent_client_secret`` and ``redirect_status``,
    as Stripe sends them."""
    intent = store.load("payment_intent", intent_id)
    if intent is None:
        raise Http404("No such PaymentIntent.")
    action = (intent.get("next_action") or {}).get("redirect_to_url") or {}
    if request.method == "POST" and intent["status"] == "requires_action":
        approved = request.POST.get("outcome") == "complete"
        try:
            intent = intents.authenticate(intent_id, approved)
        except ErrorResponse:
            intent = store.load("payment_intent", intent_id)
        return_url = action.get("return_url")
        if return_url:
            query = urlencode(
                {
                    "payment_intent": intent["id"],
                    "payment_intent_client_secret": intent["client_secret"],
                    "redirect_status": "succeeded" if approved else "failed",
                }
            )
            separator = "&" if "?" in return_url else "?"
            return _see_other(f"{return_url}{separator}{query}")
    return render(
        request,
        "stripe_emulator/authenticate.html",
        {
            "intent": intent,
            "amount": format_amount(intent["amount"], intent["currency"]),
            "currency": intent["currency"].upper(),
            "waiting": intent["status"] == "requires_action",
        },
    )


# What Stripe.js asks of Stripe's API from the shopper's browser, with the
# publishable key and the intent's client secret (stripe_emulator/static/
# stripe_emulator/stripe.js sends it here).
PUBLISHABLE_KEY = re.compile(r"pk_test_[A-Za-z0-9_]+")


@require_http_methods(["GET", "POST"])
def browser_intent(request, intent_id, action=None):
    """At Stripe another origin, asked with keys rather than cookies; here the
    shop's own, so the stand-in sends the page's CSRF token like any form (the
    webhook stays the shop's only CSRF-exempt view)."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        intent = _client_intent(intent_id, data)
        if action == "confirm" and request.method == "POST":
            intent = intents.confirm(
                intent_id,
                _card_number(data),
                return_url=data.get("return_url") or None,
            )
        elif action is not None or request.method != "GET":
            raise InvalidRequest(
                f"Unrecognized request URL ({request.method}: {request.path}).",
                status=404,
            )
    except ErrorResponse as error:
        body = error.body()
        if isinstance(body["error"].get("payment_intent"), dict):
            body["error"]["payment_intent"] = intents.client_view(
                body["error"]["payment_intent"]
            )
        return JsonResponse(body, status=error.status)
    return JsonResponse(intents.client_view(intent))


def _client_intent(intent_id, data):
    key = data.get("key", "")
    if not PUBLISHABLE_KEY.fullmatch(key):
        raise InvalidRequest(
            f"Invalid API Key provided: {key[:12] or '(none)'}", status=401
        )
    intent = store.load("payment_intent", intent_id)
    if intent is None:
        raise InvalidRequest(
            f"No such payment_intent: '{intent_id}'",
            code="resource_missing",
            param="intent",
            status=404,
        )
    if not constant_time_compare(
        data.get("client_secret", ""), intent["client_secret"]
    ):
        raise InvalidRequest(
            "The client_secret provided does not match the client_secret associated "
            "with the PaymentIntent.",
            code="payment_intent_invalid_parameter",
            param="client_secret",
        )
    return intent


def _card_number(data):
    """The card the Payment Element collected: one of Stripe's test cards."""
    number = re.sub(r"\D", "", data.get("payment_method_data[card][number]", ""))
    if number not in intents.CARDS:
        # Stripe's answer to a real card number in test mode.
        raise CardError(
            "Your card was declined. Your request was in test mode, but used a non "
            "test (live) card. For a list of valid test cards, visit: "
            "https://stripe.com/docs/testing.",
            code="card_declined",
            decline_code="live_mode_test_card",
            param="",
        )
    return number
