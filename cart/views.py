import contextlib
import json
from functools import wraps
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django import forms
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import ratelimit
from coupons.services import CouponRejected, TooManyAttempts

from . import alerts
from .forms import DestinationForm
from .models import StockAlert
from .page import render_cart_page
from .services import (
    Cart,
    CartBusy,
    CartConflict,
    CartError,
    remember_destination,
    thumbnails,
)

MAX_API_BODY = 64 * 1024


def cart_form(view):
    """A cart form's URL: POST changes the cart; a GET (a refresh or a bookmark of
    the page a refused form was shown at) goes to the cart page instead of a 405."""

    @wraps(view)
    def handle(request, *args, **kwargs):
        if request.method == "GET":
            return redirect("cart:detail")
        return view(request, *args, **kwargs)

    return require_http_methods(["GET", "POST"])(handle)


def wants_json(request):
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _next_url(request):
    """Where a form goes back to: ``next`` or the Referer, if it is a page of this
    site a GET can show. A refused form renders at its POST-only URL (the cart page
    with its errors at /cart/coupon/), so that URL is a Referer the next form sends."""
    for candidate in (request.POST.get("next"), request.headers.get("Referer")):
        if (
            candidate
            and url_has_allowed_host_and_scheme(
                candidate,
                allowed_hosts={request.get_host()},
                require_https=request.is_secure(),
            )
            and not _is_cart_action(candidate)
        ):
            return candidate
    return reverse("cart:detail")


def _is_cart_action(url):
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return False
    return match.namespace == "cart" and match.url_name != "detail"


def _tidied(request, cart):
    """The cart, with what reading it found stored (one explicit change), so its
    notices are shown once; if the cart is busy meanwhile, as read."""
    if cart.untidy:
        with contextlib.suppress(CartBusy):
            cart, _ = Cart.change(request, lambda cart: cart.tidy())
    return cart


def _render_cart(request, cart, errors=None, status=200, destination_form=None):
    for notice in cart.notices:
        messages.warning(request, notice)
    cart = _tidied(request, cart)
    lines = cart.lines
    images = thumbnails(lines, request)
    html = render_cart_page(
        request,
        cart,
        rows=[(line, images.get(line.wine.pk)) for line in lines],
        errors=errors or {},
        # A destination sent with errors: not the figures for the one before
        estimate=cart.estimate() if destination_form is None else None,
        destination_form=destination_form,
    )
    return HttpResponse(html, status=status)


def _rejected(request, cart, error):
    if wants_json(request):
        return JsonResponse({"errors": error.errors}, status=400)
    return _render_cart(request, cart, errors=error.errors, status=400)


def _changed(request, cart, message):
    if wants_json(request):
        return JsonResponse({"message": message, **cart.as_json()})
    messages.success(request, message)
    # Not redirect(): it would read a bare word such as next=0 as a view name.
    return HttpResponseRedirect(_next_url(request))


@require_GET
def detail(request):
    return _render_cart(request, Cart.for_request(request))


def _change(request, operation):
    """``Cart.change``, or the answer to give when it could not be made."""
    try:
        return Cart.change(request, operation), None
    except CartError as error:
        return (None, None), _rejected(request, Cart.for_request(request), error)
    except CartBusy:
        return (None, None), _busy(request)


BUSY = (
    "Your cart was being changed in another window at the same moment; nothing "
    "was changed here. Please try again."
)


def _busy(request):
    if wants_json(request):
        return JsonResponse({"errors": {"cart": [BUSY]}}, status=409)
    return _render_cart(
        request, Cart.for_request(request), errors={"cart": [BUSY]}, status=409
    )


@cart_form
def add(request):
    (cart, variant), refused = _change(
        request,
        lambda cart: cart.add(
            request.POST.get("variant"), request.POST.get("quantity")
        ),
    )
    if refused:
        return refused
    quantity = int(request.POST["quantity"])
    return _changed(
        request,
        cart,
        f"Added {quantity} × {variant.page.title} ({variant.label}) to your cart.",
    )


@cart_form
def update(request):
    (cart, variant), refused = _change(
        request,
        lambda cart: cart.update(
            request.POST.get("variant"), request.POST.get("quantity")
        ),
    )
    if refused:
        return refused
    return _changed(
        request, cart, f"Updated {variant.page.title} ({variant.label}) in your cart."
    )


@cart_form
def remove(request):
    (cart, variant), refused = _change(
        request, lambda cart: cart.remove(request.POST.get("variant"))
    )
    if refused:
        return refused
    name = f"{variant.page.title} ({variant.label})" if variant else "The wine"
    return _changed(request, cart, f"Removed {name} from your cart.")


@cart_form
def coupon(request):
    if "remove" in request.POST:
        (cart, _), refused = _change(request, lambda cart: cart.remove_coupon())
        return refused or _changed(request, cart, "The coupon was removed.")
    try:
        (cart, applied), refused = _change(
            request,
            lambda cart: cart.apply_coupon(request.POST.get("code", ""), request),
        )
    except TooManyAttempts as limited:
        cart = Cart.for_request(request)
        response = _rejected(request, cart, CartError({"code": [limited.message]}))
        response.status_code = 429
        response["Retry-After"] = str(limited.retry_after)
        return response
    except CouponRejected as rejected:
        cart = Cart.for_request(request)
        return _rejected(request, cart, CartError({"code": [rejected.message]}))
    if refused:
        return refused
    return _changed(
        request,
        cart,
        f"Coupon {applied.code} applied: {applied.description or 'discount'}.",
    )


@cart_form
def destination(request):
    """Where to estimate delivery and tax for: kept in the session, beside the
    cart (changing it changes no cart version)."""
    form = DestinationForm(request.POST, request=request)
    if not form.is_valid():
        return _render_cart(
            request, Cart.for_request(request), status=400, destination_form=form
        )
    remember_destination(
        request.session, form.cleaned_data["country"], form.cleaned_data["state"]
    )
    return redirect("cart:detail")


@cart_form
def clear(request):
    (cart, _), refused = _change(request, lambda cart: cart.clear())
    return refused or _changed(request, cart, "Your cart is empty.")


def _api_error(field, message, status=400):
    return JsonResponse({"errors": {field: [message]}}, status=status)


@require_http_methods(["GET", "POST"])
def api(request):
    cart = Cart.for_request(request)
    if request.method == "GET":
        body = cart.as_json()
        _tidied(request, cart)
        return JsonResponse(body)
    if request.content_type != "application/json":
        return _api_error("content_type", "Send the cart as application/json.")
    try:
        body = request.body
    except RequestDataTooBig:
        return _api_error("body", "The request is too large.")
    if len(body) > MAX_API_BODY:
        return _api_error("body", "The request is too large.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _api_error("body", "The body is not valid JSON.")
    if not isinstance(payload, dict):
        return _api_error("body", 'Send an object with "items" and "version".')
    version = payload.get("version")
    if not isinstance(version, str):
        return _api_error("version", "Send the version of the cart you last read.")

    def replace(cart):
        cart.replace(payload.get("items"), version)
        if "coupon" in payload:
            _api_coupon(request, cart, payload["coupon"])

    try:
        cart, _ = Cart.change(request, replace)
    except TooManyAttempts as limited:
        response = _api_error("coupon", limited.message, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    except CouponRejected as rejected:
        return _api_error("coupon", rejected.message)
    except CartBusy:
        return _api_error("cart", BUSY, status=409)
    except CartConflict:
        cart = Cart.for_request(request)
        return JsonResponse(
            {
                "errors": {
                    "version": [
                        "Your cart changed somewhere else (another tab?). Here is "
                        "the cart as it is now."
                    ]
                },
                "cart": cart.as_json(),
            },
            status=409,
        )
    except CartError as error:
        return JsonResponse({"errors": error.errors}, status=400)
    return JsonResponse(cart.as_json())


def _api_coupon(request, cart, code):
    if code is None or code == "":
        cart.remove_coupon()
    elif not isinstance(code, str):
        raise CouponRejected("Send the coupon code as a string, or null to remove it.")
    elif code.strip().upper() != cart.coupon_code:
        cart.apply_coupon(code, request)


class AlertForm(forms.Form):
    variant = forms.IntegerField(min_value=1)
    email = forms.EmailField(max_length=254)


@require_POST
def ask_alert(request):
    """Email me when this sold-out wine is back: a confirmation email first,
    unless it is the signed-in shopper's own verified address."""
    form = AlertForm(request.POST)
    back = _next_url(request)
    if not form.is_valid():
        messages.error(request, "Give an email address to be told at.")
        return redirect(back)
    slots = ratelimit.take(ratelimit.per_client(request, "stock-alerts", 10, 10), 3600)
    if not slots.allowed:
        messages.error(request, "Too many alerts asked for; try again later.")
        return redirect(back)
    variant = alerts.sold_out(form.cleaned_data["variant"])
    if variant is None:
        messages.info(request, "That wine is for sale: add it to your cart.")
        return redirect(back)
    email = form.cleaned_data["email"]
    verified = request.user.is_authenticated and (
        EmailAddress.objects.filter(
            user=request.user, email__iexact=email.strip(), verified=True
        ).exists()
    )
    alert = alerts.ask(variant, email, verified=verified)
    messages.success(
        request,
        f"We will email {alert.email} once, when it is back."
        if verified
        else "Check your email and confirm: we will tell you once, when it is back.",
    )
    return redirect(back)


@require_http_methods(["GET", "POST"])
def alert(request, token):
    found = (
        StockAlert.objects.filter(token=token).select_related("variant__page").first()
    )
    if found is None:
        raise Http404("No such alert.")
    if request.method == "POST":
        found = alerts.confirm(token)
        found.refresh_from_db()
    return render(request, "cart/alert.html", {"alert": found})


@csrf_exempt  # RFC 8058: mail apps POST here with no page and no cookie
@require_http_methods(["GET", "POST"])
def alert_unsubscribe(request, token):
    """One click stops the alert: the link in its email (GET) or the mail app's
    List-Unsubscribe-Post. The secret token is the authority, as the email's."""
    stopped = alerts.unsubscribe(token)
    if request.method == "POST":
        return HttpResponse(status=200 if stopped else 404)
    return render(request, "cart/alert_stopped.html", {"stopped": stopped}, status=200)
