"""My account: the shopper's orders on every device, and closing the account.
Signing up, in and out, verifying, resetting and changing email and password are
django-allauth's views (cellar/urls.py: /accounts/)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from orders.models import Order


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
