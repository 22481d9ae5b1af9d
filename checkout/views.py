import contextlib
import json
import logging
import re

import stripe
from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError
from django.db.models import Q
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cart.services import (
    Cart,
    CartBusy,
    CartError,
    chosen_destination,
    remember_destination,
)
from core import ratelimit
from core.security import header_value
from home.models import PaymentPage, ShopSettings
from orders.customers import ADDRESS_FIELDS
from orders.models import Invoice, Order, SavedAddress
from orders.placement import CONTACT_FIELDS, CartNotReady, place_order
from orders.status import OrderStatus
from shipping import addresses
from shipping import services as shipping
from shipping.totals import shipping_cost

from . import stripe_api
from .ending import (
    CheckoutPaid,
    PaymentProviderError,
    SessionStillOpen,
    end_checkout,
)
from .forms import CheckoutForm
from .fulfilment import fulfil_checkout, fulfil_intent, retrieve_intent
from .intents import payment_intent_for, switch_to_hosted
from .sessions import checkout_session_url
from .webhooks import malformed, receive_event

logger = logging.getLogger(__name__)
SESSION_ID = re.compile(r"cs_[A-Za-z0-9_]{1,250}")
INTENT_ID = re.compile(r"pi_[A-Za-z0-9]{1,250}")
CLIENT_SECRET = re.compile(r"pi_[A-Za-z0-9]{1,250}_secret_[A-Za-z0-9]{1,250}")
REMEMBERED_ORDERS = 20
TOO_MANY_CHECKOUTS = (
    "You have started many checkouts in the last few minutes. Nothing was charged; "
    "please wait a few minutes and try again."
)


def remember_order(request, order):
    tokens = [t for t in request.session.get("orders", []) if t != order.token]
    request.session["orders"] = [order.token, *tokens][:REMEMBERED_ORDERS]


def _back_to_cart(request, reasons, stale=False):
    """To the cart page with ``reasons``; what reading the cart here found (its
    notices, among the reasons) is stored first, so the cart page has no more to
    say about it. ``stale``: what the cart was read with has changed (others hold
    or bought its bottles), so it is read again from the database first."""
    if stale:
        Cart.read_again(request)
    cart = Cart.for_request(request, fresh=stale)
    if stale:  # what reading again found besides (a coupon used up meanwhile)
        reasons = [*reasons, *(n for n in cart.notices if n not in reasons)]
    if cart.untidy:
        with contextlib.suppress(CartBusy, DatabaseError):
            Cart.change(request, lambda cart: cart.tidy())
    for reason in reasons:
        messages.warning(request, reason)
    return redirect("cart:detail")


def _saved_address(request):
    """The signed-in shopper's saved address to start from: the one chosen on the
    page (``?address=``), else their default; None for a guest or none saved."""
    if not request.user.is_authenticated:
        return None
    mine = SavedAddress.objects.filter(user=request.user)
    chosen = request.GET.get("address", "")
    if chosen.isdigit():
        found = mine.filter(pk=int(chosen)).first()
        if found is not None:
            return found
    return mine.first()


def _prefill(request):
    saved = _saved_address(request)
    if saved is not None:
        return {field: getattr(saved, field) for field in ADDRESS_FIELDS} | {
            "email": request.user.email,
            "country": saved.country.code,
            "state": addresses.state_value(saved.country.code, saved.state),
        }
    last = request.session.get("orders")
    order = Order.objects.filter(token=last[0]).first() if last else None
    if order is None and request.user.is_authenticated:
        order = request.user.orders.first()
    if order is not None:
        return {field: getattr(order, field) for field in CONTACT_FIELDS} | {
            "country": order.country.code,
            "state": addresses.state_value(order.country.code, order.state),
        }
    # Where the cart's estimate was for, if the shopper chose it there.
    where = chosen_destination(request.session)
    if request.user.is_authenticated:
        return where | {
            "email": request.user.email,
            "name": request.user.get_full_name(),
        }
    return where


@require_http_methods(["GET", "POST"])
def start(request):
    cart = Cart.for_request(request, fresh=True)
    if not cart.lines or cart.notices:
        return _back_to_cart(request, cart.notices or ["Your cart is empty."])
    status, error = 200, None
    if request.method == "POST":
        form = CheckoutForm(request.POST, request=request)
        if form.is_valid():
            slots = ratelimit.take(
                ratelimit.per_client(
                    request,
                    "checkouts",
                    settings.CHECKOUTS_PER_ADDRESS,
                    settings.CHECKOUTS_PER_SESSION,
                ),
                settings.CHECKOUT_LIMIT_WINDOW,
            )
            if not slots.allowed:
                response = render(
                    request,
                    "checkout/checkout.html",
                    {
                        "form": form,
                        "cart": cart,
                        "lines": cart.lines,
                        "payment_error": TOO_MANY_CHECKOUTS,
                        **_summary(request, form, cart),
                    },
                    status=429,
                )
                response["Retry-After"] = str(slots.retry_after)
                return response
            try:
                page = _payment_page(request, cart)
                order = place_order(
                    cart, form.cleaned_data, request.user, stripe_api.livemode(), page
                )

                def remember(cart):
                    remember_order(request, order)
                    cart.attach_order(order.token)
                    remember_destination(
                        request.session, order.country.code, order.state
                    )

                try:
                    Cart.change(request, remember)
                except (CartBusy, DatabaseError):
                    # The order stands; this browser just does not remember it.
                    logger.warning("Could not remember %s in the session", order)
                if (
                    form.cleaned_data.get("save_address")
                    and request.user.is_authenticated
                ):
                    SavedAddress.keep(request.user, form.cleaned_data)
                if order.pays_on_page and page == PaymentPage.HOSTED:
                    # Paid on the shop's page so far; now asked without the
                    # Payment Element (no JavaScript): Stripe's page instead.
                    switch_to_hosted(order)
                if order.pays_on_page:
                    payment_intent_for(order)
                    url = reverse("checkout:pay", args=[order.token])
                else:
                    url = _session_url(request, order)
            except CartNotReady as problem:
                return _back_to_cart(request, problem.reasons, problem.stale)
            except PaymentProviderError as problem:
                status, error = 503, problem.message
            else:
                response = HttpResponse(status=303)
                response["Location"] = url
                return response
        else:
            status = 400
    else:
        form = CheckoutForm(initial=_prefill(request), request=request)
    return render(
        request,
        "checkout/checkout.html",
        {
            "form": form,
            "cart": cart,
            "lines": cart.lines,
            "payment_error": error,
            **_summary(request, form, cart),
            **_addresses(request),
        },
        status=status,
    )


def _addresses(request):
    """A signed-in shopper's saved addresses, to start the form from one."""
    if not request.user.is_authenticated:
        return {}
    chosen = _saved_address(request)
    return {
        "saved_addresses": list(SavedAddress.objects.filter(user=request.user)),
        "chosen_address": chosen.pk if chosen else None,
    }


def _summary(request, form, cart):
    return {
        "charges_shipping": shipping.charges_shipping(request),
        # Before the address is known, the goods' total is the total only where
        # neither shipping nor tax is charged.
        "total_known": not (
            shipping.charges_shipping(request) or shipping.charges_tax(request)
        ),
        **_delivery(request, form, cart),
    }


@require_GET
def quote(request):
    """The checkout page's delivery methods and totals for the address typed so
    far (its script asks as the shopper chooses the country, state or method)."""
    cart = Cart.for_request(request)
    form = CheckoutForm(initial=request.GET.dict(), request=request)
    context = {"form": form, "cart": cart, **_summary(request, form, cart)}
    return JsonResponse(
        {
            part: render_to_string(f"checkout/_{template}.html", context, request)
            for part, template in (
                ("methods", "delivery_methods"),
                ("totals", "totals"),
                ("submit", "submit_label"),
            )
        }
    )


def _delivery(request, form, cart):
    """The delivery methods for the address in the form (as sent, or prefilled)
    with their prices for this cart, and the totals by the chosen one or the
    cheapest: what the order placed from it will charge."""
    data = form.data if form.is_bound else form.initial
    country = data.get("country") or ""
    if not country or country not in dict(form.fields["country"].choices):
        return {}
    state = addresses.normal_state(
        country, addresses.parse_state(data.get("state"), country) or ""
    )
    if not shipping.charges_shipping():
        totals, _ = cart.quote(country, state)
        return {"quote": totals}
    options = shipping.methods_for(country, state, request)
    if not options:
        return {"refused": shipping.no_delivery_reason(country, state)}
    chosen = next(
        (m for m in options if str(m.pk) == str(data.get("shipping_method") or "")),
        None,
    )
    totals, method = cart.quote(country, state, chosen)
    goods = totals.goods
    return {
        "methods": [
            (m, shipping_cost(m, cart.bottles, goods, totals.currency)) for m in options
        ],
        "quote": totals,
        "quote_method": method,
        "chosen_method": str(method.pk),
    }


def _session_url(request, order):
    return checkout_session_url(
        order,
        success_url=request.build_absolute_uri(reverse("checkout:success")),
        cancel_url=request.build_absolute_uri(reverse("checkout:cancel")),
    )


@require_POST
def pay_hosted(request, token):
    """ "Pay on Stripe's page instead", from the shop's payment page (its form
    works without JavaScript, and when the Payment Element would not load)."""
    order = get_object_or_404(
        Order, token=token, payment_page=PaymentPage.ON_PAGE, status=OrderStatus.PENDING
    )
    if not _placed_here(request, order):
        raise Http404
    try:
        if not switch_to_hosted(order):
            messages.error(
                request,
                "Stripe is still taking the payment on this page; try again in a "
                "minute.",
            )
            return redirect("checkout:pay", token=order.token)
        url = _session_url(request, order)
    except CartNotReady as problem:
        order.refresh_from_db()
        if order.is_paid or order.status == OrderStatus.PROCESSING:
            return redirect("orders:detail", token=order.token)
        return _back_to_cart(request, problem.reasons, problem.stale)
    except (PaymentProviderError, stripe.StripeError):
        messages.error(request, PaymentProviderError.message)
        return redirect("checkout:pay", token=order.token)
    response = HttpResponse(status=303)
    response["Location"] = url
    return response


def _payment_page(request, cart):
    """Where this checkout pays: on the shop's page when the shop says so (and
    Stripe Tax is off), the browser runs the Payment Element (its script marks
    the form), there is something to pay and a publishable key to pay with; on
    Stripe's hosted page otherwise."""
    on_page = (
        ShopSettings.load(request_or_site=request).pays_on_page
        and request.POST.get("payment_page") == PaymentPage.ON_PAGE
        and cart.total > 0
        # Stripe.js needs it; without it the hosted page still takes payments.
        and bool(settings.STRIPE_PUBLISHABLE_KEY)
    )
    return PaymentPage.ON_PAGE if on_page else PaymentPage.HOSTED


# Where Stripe.js is loaded from, and what it needs besides the shop's own
# origin: https://docs.stripe.com/security/guide#content-security-policy
STRIPE_JS = "https://js.stripe.com/v3/"
STRIPE_JS_SOURCES = {
    "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
    "frame-src": [
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
    ],
    "connect-src": ["https://api.stripe.com"],
}


def stripe_js_policy():
    """The shop's strict policy, opened for exactly Stripe.js's origins."""
    policy = {
        key: list(value) for key, value in settings.CONTENT_SECURITY_POLICY.items()
    }
    for directive, sources in STRIPE_JS_SOURCES.items():
        policy[directive] = [*policy.get(directive, ["'self'"]), *sources]
    return header_value(policy)


@require_GET
def pay(request, token):
    """The shop's own payment page: Stripe's Payment Element for the order's one
    PaymentIntent. Only the browser that placed the order sees it."""
    order = get_object_or_404(
        Order.objects.prefetch_related("lines"),
        token=token,
        payment_page=PaymentPage.ON_PAGE,
    )
    if not _placed_here(request, order):
        raise Http404
    if order.status != OrderStatus.PENDING:
        if order.status in (OrderStatus.CANCELLED, OrderStatus.FAILED):
            return _back_to_cart(
                request, ["That checkout has ended. Please check out again."]
            )
        return redirect("orders:detail", token=order.token)
    if order.checkout_expires_at <= timezone.now():
        try:
            end_checkout(order, "payment page", note="Its hold ended before payment")
        except CheckoutPaid:
            return redirect("orders:detail", token=order.token)
        except (SessionStillOpen, stripe.StripeError, DatabaseError):
            logger.warning("Could not end %s's checkout on its page", order)
        else:
            return _back_to_cart(
                request,
                [
                    "Your checkout ended before it was paid, and the bottles it "
                    "set aside went back on sale. Check your cart and check out "
                    "again."
                ],
                stale=True,
            )
    error, status, intent = None, 200, None
    try:
        intent = payment_intent_for(order)
    except CartNotReady as problem:
        order.refresh_from_db()
        if order.is_paid or order.status == OrderStatus.PROCESSING:
            return redirect("orders:detail", token=order.token)
        return _back_to_cart(request, problem.reasons, problem.stale)
    except PaymentProviderError as problem:
        error, status = problem.message, 503
    return_url = request.build_absolute_uri(reverse("checkout:success"))
    cart = Cart.for_request(request)
    response = render(
        request,
        "checkout/pay.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "client_secret": intent.client_secret if intent else "",
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "stripe_js": _stripe_js_url(),
            "return_url": return_url,
            "payment_error": error,
            # The cart was changed (another tab, the back button) after this
            # order was placed: this page pays for the order as it is.
            "cart_changed": bool(cart)
            and not order.checkout_key.startswith(f"{cart.checkout_key}:"),
        },
        status=status,
    )
    response["Cache-Control"] = "private, no-store"
    if not settings.STRIPE_EMULATOR:
        response["Content-Security-Policy"] = stripe_js_policy()
    return response


def _stripe_js_url():
    if settings.STRIPE_EMULATOR:
        return static("stripe_emulator/stripe.js")
    return STRIPE_JS


def _last_error_message(intent):
    error = getattr(intent, "last_payment_error", None) if intent else None
    return getattr(error, "message", None) or ""


@require_GET
def success(request):
    if "payment_intent" in request.GET:
        return _intent_success(request)
    session_id = request.GET.get("session_id", "")
    if not SESSION_ID.fullmatch(session_id):
        return HttpResponseBadRequest("Missing or malformed session_id.")
    order = get_object_or_404(Order, stripe_session_id=session_id)
    # If Stripe cannot be asked now, or the database is busy past its timeout, the
    # webhook or the reconcile task finishes: the shopper sees the order as it is.
    try:
        order = fulfil_checkout(session_id, cause="success page") or order
    except (stripe.StripeError, DatabaseError):
        logger.exception("Success page could not fulfil %s; the webhook will", order)
    if not _placed_here(request, order):
        # Stripe puts the session id in referrers and logs: holding it shows no
        # order, and prefills nothing later.
        return render(request, "checkout/success_elsewhere.html")
    try:
        Cart.change(request, lambda cart: remember_order(request, order))
    except (CartBusy, DatabaseError):
        logger.warning("Could not remember %s in the session", order)
    return redirect("orders:detail", token=order.token)


def _intent_success(request):
    """Where Stripe.js sends the shopper after paying on the shop's page (or the
    3-D Secure page does): ``payment_intent`` and ``payment_intent_client_secret``
    in the query. The intent is read again from Stripe, and its client secret must
    match: the query is never proof of payment."""
    intent_id = request.GET.get("payment_intent", "")
    secret = request.GET.get("payment_intent_client_secret", "")
    if not (INTENT_ID.fullmatch(intent_id) and CLIENT_SECRET.fullmatch(secret)):
        return HttpResponseBadRequest(
            "Missing or malformed payment_intent or payment_intent_client_secret."
        )
    order = get_object_or_404(
        Order, stripe_payment_intent_id=intent_id, payment_page=PaymentPage.ON_PAGE
    )
    intent = None
    try:
        intent = retrieve_intent(intent_id)
    except stripe.StripeError:
        logger.exception("Success page could not read %s; the webhook will", order)
    if intent is not None:
        if not constant_time_compare(intent.client_secret, secret):
            return HttpResponseBadRequest("That payment does not match its secret.")
        try:
            order = fulfil_intent(intent_id, "success page", intent) or order
        except DatabaseError:
            logger.exception(
                "Success page could not fulfil %s; the webhook will", order
            )
    if not _placed_here(request, order):
        return render(request, "checkout/success_elsewhere.html")
    if order.status == OrderStatus.PENDING and (message := _last_error_message(intent)):
        # 3-D Secure failed, or the card was declined after it: pay again.
        messages.error(request, message)
        return redirect("checkout:pay", token=order.token)
    try:
        Cart.change(request, lambda cart: remember_order(request, order))
    except (CartBusy, DatabaseError):
        logger.warning("Could not remember %s in the session", order)
    return redirect("orders:detail", token=order.token)


def _placed_here(request, order):
    """Whether this browser session (or its signed-in shopper) placed the order."""
    if order.token in request.session.get("orders", []):
        return True
    user = request.user
    return user.is_authenticated and order.user_id == user.pk


@require_GET
def cancel(request):
    messages.info(
        request, "Payment cancelled: nothing was charged and your cart is unchanged."
    )
    return redirect("cart:detail")


@csrf_exempt
@require_POST
def webhook(request):
    try:
        payload = request.body.decode("utf-8")
        # Verify before parsing: https://docs.stripe.com/webhooks#verify-official-libraries
        stripe.WebhookSignature.verify_header(
            payload,
            request.headers.get("Stripe-Signature", ""),
            settings.STRIPE_WEBHOOK_SECRET,
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError:
        return JsonResponse({"error": "Invalid Stripe-Signature."}, status=400)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "Malformed event payload."}, status=400)
    if reason := malformed(event):
        return JsonResponse(
            {"error": "Malformed event payload.", "detail": reason}, status=400
        )
    try:
        result = receive_event(event)
    except (DatabaseError, stripe.StripeError):
        # Nothing was recorded (one transaction, rolled back): Stripe retries.
        logger.exception("Webhook %s failed; Stripe will retry", event["id"])
        return JsonResponse({"error": "Try again later."}, status=503)
    return JsonResponse({"received": True, "result": result})


def _not_another_accounts(request, order):
    """An order's link shows it to whoever holds it (the shopper's email has it),
    except to a shopper signed in to another account: theirs it is not."""
    user = request.user
    if order.user_id and user.is_authenticated and order.user_id != user.pk:
        raise Http404("No such order.")
    return order


@require_GET
def order_detail(request, token):
    order = get_object_or_404(
        Order.objects.select_related("invoice").prefetch_related("lines"), token=token
    )
    _not_another_accounts(request, order)
    if order.is_paid:
        # The paid lines leave this browser's cart: one explicit change.
        cart = Cart.for_request(request)
        if cart.untidy:
            for notice in cart.notices:
                messages.info(request, notice)
            with contextlib.suppress(CartBusy, DatabaseError):
                Cart.change(request, lambda cart: cart.tidy())
    return render(request, "checkout/order_detail.html", {"order": order})


@require_GET
def order_list(request):
    scope = Q(token__in=request.session.get("orders", []))
    if request.user.is_authenticated:
        scope |= Q(user=request.user)
    orders = Order.objects.filter(scope).order_by("-created_at")
    return render(request, "checkout/order_list.html", {"orders": orders})


@require_POST
def reorder(request, token):
    """Buy an order's wines again: what is still for sale goes in the cart."""
    order = get_object_or_404(Order.objects.prefetch_related("lines"), token=token)
    _not_another_accounts(request, order)
    lines, told = [], []
    for line in order.lines.all():
        name = f"{line.wine_name} ({line.variant_label})"
        if line.variant_id is None:
            told.append(f"{name}: not added. We no longer sell it.")
        else:
            lines.append((line.variant_id, line.quantity, name))
    try:
        _, (added, refused) = Cart.change(request, lambda cart: cart.reorder(lines))
    except CartError as full:
        for errors in full.errors.values():
            for error in errors:
                messages.warning(request, error)
        return redirect("cart:detail")
    except CartBusy:
        messages.error(request, "Your cart was busy; please try again.")
        return redirect("orders:detail", token)
    for message in told + refused:
        messages.warning(request, message)
    if added:
        messages.success(
            request, f"The wines of order {order.reference} are in your cart."
        )
    return redirect("cart:detail")


def _invoice_response(invoice):
    if invoice.status != Invoice.Status.READY or not invoice.pdf:
        raise Http404("The invoice is not ready yet.")
    response = FileResponse(
        invoice.pdf.open("rb"),
        as_attachment=True,
        filename=invoice.filename,
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def order_invoice(request, token):
    """The shopper's invoice, for whoever holds the order link."""
    invoice = get_object_or_404(
        Invoice.objects.select_related("order"), order__token=token
    )
    _not_another_accounts(request, invoice.order)
    return _invoice_response(invoice)


@require_GET
def merchant_invoice(request, number):
    """Any invoice, for staff allowed to see invoices; anyone else gets a 404."""
    if not request.user.has_perm("checkout.view_invoice"):
        raise Http404
    return _invoice_response(get_object_or_404(Invoice, number=number))
