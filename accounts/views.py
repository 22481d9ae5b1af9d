"""My account: the shopper's orders on every device, and closing the account.
Signing up, in and out, verifying, resetting and changing email and password are
django-allauth's views (cellar/urls.py: /accounts/)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from checkout.forms import CheckoutForm
from core import ratelimit
from orders.models import Order, SavedAddress


@login_required
def home(request):
    orders = (
        Order.objects.filter(user=request.user)
        .exclude(status__in=("pending", "cancelled", "failed"))
        .select_related("invoice")
        .prefetch_related("lines")
        .order_by("-created_at")
    )
    return render(request, "accounts/home.html", {"orders": orders})


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password


@login_required
@require_http_methods(["GET", "POST"])
def delete(request):
    """Close the account: the shopper's orders stay in the merchant's books, no
    longer linked to any account (their delivery details are the invoice's)."""
    user = request.user
    form = DeleteAccountForm(request.POST or None, user=user)
    if request.method == "POST":
        # A password check like a sign-in's: as limited (per account and address)
        slots = ratelimit.take(
            {
                f"close-account:user:{user.pk}": 5,
                f"close-account:ip:{ratelimit.client_address(request)}": 5,
            },
            300,
        )
        if not slots.allowed:
            response = render(
                request,
                "accounts/delete.html",
                {
                    "form": DeleteAccountForm(user=user),
                    "limited": "Too many tries; wait a few minutes and try again.",
                },
                status=429,
            )
            response["Retry-After"] = str(slots.retry_after)
            return response
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            Order.objects.filter(user=user).update(user=None)
            logout(request)
            user.delete()
        messages.success(
            request, "Your account is closed. Thank you for shopping with us."
        )
        return redirect("/")
    return render(
        request,
        "accounts/delete.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


class AddressForm(CheckoutForm):
    """A delivery address checked as the checkout checks it (fields by country,
    postcode, phone), without the checkout's other questions."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("email", "shipping_method", "save_address", "legal_age"):
            del self.fields[name]


@login_required
@require_http_methods(["GET", "POST"])
def addresses(request):
    form = AddressForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        SavedAddress.keep(request.user, form.cleaned_data)
        messages.success(request, "The address is saved.")
        return redirect("account:addresses")
    return render(
        request,
        "accounts/addresses.html",
        {
            "form": form,
            "addresses": SavedAddress.objects.filter(user=request.user),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def make_default(request, pk):
    address = get_object_or_404(SavedAddress, pk=pk, user=request.user)
    with transaction.atomic():
        SavedAddress.objects.filter(user=request.user).update(is_default=False)
        SavedAddress.objects.filter(pk=address.pk).update(is_default=True)
    messages.success(request, f"Checkouts start from {address} now.")
    return redirect("account:addresses")


@login_required
@require_POST
def delete_address(request, pk):
    address = get_object_or_404(SavedAddress, pk=pk, user=request.user)
    with transaction.atomic():
        address.delete()
        mine = SavedAddress.objects.filter(user=request.user)
        if address.is_default and (first := mine.first()) is not None:
            mine.filter(pk=first.pk).update(is_default=True)
    messages.success(request, "The address is removed.")
    return redirect("account:addresses")
