"""The merchants' admin for orders and the Stripe event ledger.

Listings are read-only: money fields are never edited by hand. What changes an order
is an action (checkout/actions.py) behind a confirmation page and a permission, and
each one is logged.
"""

import secrets
from decimal import Decimal

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Substr
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.text import capfirst
from django.views.generic import FormView
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import (
    Column,
    StatusFlagColumn,
    StatusTagColumn,
    TitleColumn,
)
from wagtail.admin.views.generic import (
    IndexView,
    InspectView,
    WagtailAdminTemplateMixin,
)
from wagtail.admin.views.generic.history import HistoryView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import Button
from wagtail.log_actions import registry as log_registry
from wagtail.permission_policies import ModelPermissionPolicy

from checkout import stripe_api
from checkout.models import StripeEvent
from core.exports import SafeExportIndexView
from core.money import summed
from orders import holds
from orders.customers import with_totals
from orders.models import Carrier, Customer, Invoice, Order
from orders.status import SOLD, OrderStatus
from products.models import StockHold

from . import actions


class ReadOnlyPermissionPolicy(ModelPermissionPolicy):
    """View (and export) with the model's view permission; nobody adds, edits or
    deletes through the generic views."""

    def user_has_permission(self, user, action):
        if action in ("add", "change", "delete"):
            return False
        return super().user_has_permission(user, action)


class OrderFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    paid_at = django_filters.DateFromToRangeFilter(
        label="Paid between", widget=DateRangePickerWidget
    )
    coupon_code = django_filters.CharFilter(label="Coupon", lookup_expr="iexact")
    needs_attention = django_filters.BooleanFilter(label="Needs attention")
    holding = django_filters.BooleanFilter(
        label="Holding stock",
        field_name="held_until",
        lookup_expr="isnull",
        exclude=True,
    )
    invoice = django_filters.ChoiceFilter(
        label="Invoice",
        choices=[
            ("missing", "Paid, invoice or email missing"),
            ("failed", "Failed"),
            ("sent", "Sent"),
        ],
        method="filter_invoice",
    )

    class Meta:
        model = Order
        fields = [
            "status",
            "paid_at",
            "coupon_code",
            "needs_attention",
            "holding",
            "invoice",
        ]

    def filter_invoice(self, queryset, name, value):
        sent = Q(
            invoice__status=Invoice.Status.READY, invoice__emailed_at__isnull=False
        )
        if value == "missing":
            return queryset.filter(status__in=SOLD).exclude(sent)
        if value == "failed":
            return queryset.filter(invoice__status=Invoice.Status.FAILED)
        return queryset.filter(sent)


class OrderIndexView(SafeExportIndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("invoice")


class OrderInspectView(InspectView):
    def get_context_data(self, **kwargs):
        order = self.object
        intent = order.stripe_payment_intent_id
        return super().get_context_data(
            order=order,
            lines=order.lines.all(),
            history=order.history.all(),
            emails=order.emails.all(),
            activity=log_registry.get_logs_for_instance(order).select_related("user"),
            invoice=Invoice.objects.filter(order=order).first(),
            order_actions=self.order_actions(),
            payment_url=stripe_api.dashboard_url("payments", intent)
            if intent
            else None,
            **kwargs,
        )

    def order_actions(self):
        user = self.request.user
        return [
            (view, reverse(f"shop_orders:{name}", args=[self.object.pk]))
            for name, view in ORDER_ACTIONS.items()
            if user.has_perm(f"checkout.{view.permission}")
            and view.applies_to(self.object)
        ]


class OrderHistoryView(HistoryView):
    """Merchants read an order's log (they cannot change orders by hand)."""

    any_permission_required = ["view"]


class ObjectActionView(WagtailAdminTemplateMixin, FormView):
    """A confirmation page for one action on one object; POST does it.

    The user needs ``app.<permission>``; the action's ``ActionRefused`` comes back
    as an error message and nothing changes.
    """

    model = None
    permission = None
    title = ""
    confirmation = ""
    button_label = "Confirm"
    destructive = False
    form_class = forms.Form
    template_name = "checkout/admin/confirm_action.html"
    return_url_name = None

    def dispatch(self, request, pk):
        if not request.user.has_perm(f"checkout.{self.permission}"):
            raise PermissionDenied
        self.object = get_object_or_404(self.model, pk=pk)
        return super().dispatch(request)

    def get_page_title(self):
        return f"{self.title}: {self.object}"

    def get_breadcrumbs_items(self):
        index_url_name = self.return_url_name.replace(":inspect", ":index")
        return self.breadcrumbs_items + [
            {
                "url": reverse(index_url_name),
                "label": capfirst(self.model._meta.verbose_name_plural),
            },
            {"url": self.get_return_url(), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_return_url(self):
        return reverse(self.return_url_name, args=[self.object.pk])

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            object=self.object,
            confirmation=self.confirmation.format(object=self.object),
            return_url=self.get_return_url(),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            done = self.perform(self.request.user, **form.cleaned_data)
        except actions.ActionRefused as refused:
            messages.error(self.request, str(refused))
        else:
            messages.success(self.request, done)
        return redirect(self.get_return_url())

    @classmethod
    def applies_to(cls, obj):
        return True


class OrderActionView(ObjectActionView):
    model = Order
    return_url_name = "shop_orders:inspect"


class RefundForm(forms.Form):
    # This form's own id: a double click or a resent form asks for the same
    # refund (backoffice/actions.py: refund_key).
    request_id = forms.CharField(
        widget=forms.HiddenInput, max_length=32, required=False
    )
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Leave empty (and the lines below) to refund all that is left; "
        "or an amount, for a broken bottle or a late parcel.",
    )

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        left = actions.bottles_left_to_refund(order)
        for line in order.lines.all():
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=f"{line.wine_name} ({line.variant_label}): how many",
                min_value=0,
                max_value=left[line.pk],
                required=False,
                help_text=f"{left[line.pk]} of {line.quantity} not refunded; "
                f"{actions.line_share(order, line, 1)} {order.currency_code} each, "
                "their share of what was paid.",
            )

    def clean(self):
        cleaned = super().clean()
        lines = {
            int(name.removeprefix("line_")): cleaned.pop(name)
            for name in list(cleaned)
            if name.startswith("line_")
        }
        cleaned["lines"] = {pk: count for pk, count in lines.items() if count}
        if cleaned["lines"] and cleaned.get("amount") is not None:
            raise forms.ValidationError("Give an amount or lines, not both.")
        return cleaned


class RefundView(OrderActionView):
    permission = "refund_order"
    title = "Refund"
    destructive = True
    form_class = RefundForm
    button_label = "Refund through Stripe"
    confirmation = (
        "Refund order {object} (total {object.total} {object.currency_code}, "
        "{object.amount_refunded} refunded so far) to the shopper's card through "
        "Stripe? This cannot be undone; the shopper is emailed."
    )

    def get_initial(self):
        return {"request_id": secrets.token_urlsafe(16)}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "order": self.object}

    def form_invalid(self, form):
        for error in form.non_field_errors():
            messages.error(self.request, error)
        return super().form_invalid(form)

    def perform(self, user, amount=None, request_id="", lines=None):
        if (amount is not None or lines) and not request_id:
            raise actions.ActionRefused("Open the refund form again to refund part.")
        order = actions.refund(self.object, user, amount, request_id, lines=lines)
        if order.status == OrderStatus.REFUNDED:
            return f"Order {order} is refunded."
        if order.amount_refunded:
            return (
                f"{order.amount_refunded} {order.currency_code} of {order} is "
                "refunded so far."
            )
        return f"Stripe is processing the refund of {order}."

    @classmethod
    def applies_to(cls, order):
        return actions.refund_refusal(order) is None


class ResendInvoiceView(OrderActionView):
    permission = "manage_order_invoice"
    title = "Resend invoice"
    button_label = "Yes, send it again"
    confirmation = "Email the invoice of order {object} to {object.email} again?"

    def perform(self, user):
        actions.resend_invoice(self.object, user)
        return f"The invoice of {self.object} is on its way to {self.object.email}."

    @classmethod
    def applies_to(cls, order):
        return order.invoice_ready


class RegenerateInvoiceView(OrderActionView):
    permission = "manage_order_invoice"
    title = "Regenerate invoice"
    button_label = "Yes, render it again"
    confirmation = (
        "Render the invoice PDF of order {object} again, with the same number and "
        "today's shop settings (or make it, if the order has none)? The shopper "
        "is emailed only if the invoice was never sent."
    )

    def perform(self, user):
        actions.regenerate_invoice(self.object, user)
        return f"The invoice of {self.object} is being rendered again."

    @classmethod
    def applies_to(cls, order):
        return order.is_paid


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(
        choices=[("", "—"), *Carrier.choices],
        required=False,
        help_text="With a tracking number, the shopper gets a link to the "
        "carrier's tracking page.",
    )
    tracking_number = forms.CharField(
        max_length=100, required=False, help_text="Optional; sent to the shopper."
    )


class MarkShippedView(OrderActionView):
    permission = "ship_order"
    title = "Mark shipped"
    form_class = ShipForm
    button_label = "Mark shipped and tell the shopper"
    confirmation = "Mark order {object} shipped and email {object.email}?"

    def perform(self, user, tracking_number, carrier):
        actions.mark_shipped(self.object, user, tracking_number.strip(), carrier)
        return f"Order {self.object} is marked shipped; the shopper is told."

    @classmethod
    def applies_to(cls, order):
        return actions.shipping_refusal(order) is None


class MarkDeliveredView(OrderActionView):
    permission = "ship_order"
    title = "Mark delivered"
    button_label = "Mark delivered"
    confirmation = "The carrier delivered order {object}? Its page will say so."

    def perform(self, user):
        actions.mark_delivered(self.object, user)
        return f"Order {self.object} is marked delivered."

    @classmethod
    def applies_to(cls, order):
        return actions.delivery_refusal(order) is None


class ClearAttentionForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="What was done about it; kept in the order's history.",
    )


class ClearAttentionView(OrderActionView):
    permission = "clear_order_attention"
    title = "Clear attention"
    form_class = ClearAttentionForm
    button_label = "Clear the flag"
    confirmation = "Order {object} needs attention: {object.attention_reason}"

    def perform(self, user, note):
        actions.clear_attention(self.object, user, note)
        return f"Order {self.object} no longer needs attention."

    @classmethod
    def applies_to(cls, order):
        return order.needs_attention


class ReleaseHoldView(OrderActionView):
    permission = "release_order_hold"
    title = "Release hold"
    destructive = True
    button_label = "Yes, end the checkout"
    confirmation = (
        "End the checkout of order {object}? Its Stripe payment page stops taking "
        "payment, the order is cancelled, and the bottles and coupon use it holds "
        "go back on sale."
    )

    def perform(self, user):
        actions.release_hold(self.object, user)
        return f"The checkout of {self.object} is ended; what it held is on sale."

    @classmethod
    def applies_to(cls, order):
        return actions.release_refusal(order) is None


ORDER_ACTIONS = {
    "refund": RefundView,
    "resend_invoice": ResendInvoiceView,
    "regenerate_invoice": RegenerateInvoiceView,
    "ship": MarkShippedView,
    "deliver": MarkDeliveredView,
    "clear_attention": ClearAttentionView,
    "release_hold": ReleaseHoldView,
}


class ShopViewSet(ModelViewSet):
    # Pages and snippets never refer to orders, events or customers: no reference
    # index lookup on each save, which paying an order does several times.
    add_to_reference_index = False
    index_view_class = SafeExportIndexView


class OrderViewSet(ShopViewSet):
    model = Order
    icon = "list-ul"
    menu_label = "Orders"
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = OrderIndexView
    inspect_view_class = OrderInspectView
    history_view_class = OrderHistoryView
    inspect_template_name = "checkout/admin/order_inspect.html"
    filterset_class = OrderFilterSet
    form_fields = ["attention_reason"]  # required by ModelViewSet; editing is denied
    search_fields = ["reference", "email", "name"]
    search_backend_name = None
    list_display = [
        "reference",
        Column("paid_at", label="Paid"),
        "name",
        "email",
        StatusTagColumn(
            "status",
            accessor="get_status_display",
            label="Status",
            primary=lambda order: order.status == OrderStatus.PAID,
        ),
        Column("total", label="Total"),
        Column("coupon_code", label="Coupon"),
        Column("invoice_state", label="Invoice"),
        StatusFlagColumn(
            "needs_attention", true_label="Needs attention", label="Attention"
        ),
        Column("amount_at_stake", label="At stake"),
    ]
    list_export = [
        "reference",
        "created_at",
        "paid_at",
        "name",
        "email",
        "status",
        "currency",
        "subtotal",
        "discount",
        "shipping_method",
        "shipping",
        "tax",
        "tax_name",
        "tax_percent",
        "prices_include_tax",
        "total",
        "amount_refunded",
        "coupon_code",
        "country",
        "state",
        "needs_attention",
        "amount_at_stake",
    ]
    export_filename = "orders"

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path(f"{name}/<int:pk>/", view.as_view(), name=name)
            for name, view in ORDER_ACTIONS.items()
        ]


class ReplayEventView(ObjectActionView):
    model = StripeEvent
    permission = "replay_stripeevent"
    title = "Replay"
    button_label = "Yes, replay"
    return_url_name = "stripe_events:inspect"
    confirmation = (
        "Run the handler of {object} again? Fulfilment is idempotent: an order that "
        "is already paid or refunded stays as it is."
    )

    def perform(self, user):
        status = actions.replay(self.object, user)
        return f"{self.object.event_id} replayed: {status}."


class StripeEventInspectView(InspectView):
    @property
    def header_more_buttons(self):
        if not self.request.user.has_perm("checkout.replay_stripeevent"):
            return []
        url = reverse("stripe_events:replay", args=[self.object.pk])
        return [Button("Replay", url=url, icon_name="rotate")]


class StripeEventViewSet(ShopViewSet):
    model = StripeEvent
    icon = "warning"
    menu_label = "Stripe events"
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = True
    inspect_view_class = StripeEventInspectView
    search_fields = ["event_id", "type"]
    search_backend_name = None
    list_filter = ["type", "status"]
    form_fields = ["error"]  # required by ModelViewSet; editing is denied
    list_display = [
        "event_id",
        "type",
        Column("received_at", label="Received"),
        Column("processed_at", label="Processed"),
        "status",
        "error",
    ]
    inspect_view_fields = [
        "event_id",
        "type",
        "status",
        "error",
        "received_at",
        "processed_at",
        "payload",
    ]

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("replay/<int:pk>/", ReplayEventView.as_view(), name="replay")
        ]


class HoldIndexView(SafeExportIndexView):
    def get_base_queryset(self):
        # Each hold with its order, whose page has the Release hold action.
        order = Order.objects.filter(
            token=Substr(OuterRef("holder"), len(holds.PREFIX) + 1)
        )
        return (
            super()
            .get_base_queryset()
            .select_related("variant__page")
            .annotate(order_pk=Subquery(order.values("pk")[:1]))
        )


def _order_url(hold):
    if hold.order_pk is None:
        return None
    return reverse("shop_orders:inspect", args=[hold.order_pk])


class HoldViewSet(ShopViewSet):
    """Every bottle checkouts hold now, by wine and SKU: what is not for sale until
    its checkout is paid or ends. Release one from its order."""

    model = StockHold
    index_view_class = HoldIndexView
    icon = "lock"
    menu_label = "Holds"
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = False
    search_fields = ["variant__sku", "variant__page__title", "label"]
    search_backend_name = None
    form_fields = ["label"]  # required by ModelViewSet; editing is denied
    list_display = [
        Column("variant", label="Wine and SKU"),
        "quantity",
        TitleColumn("label", label="Held for", get_url=_order_url),
        Column("until", label="Until"),
    ]


class CustomerFilterSet(WagtailFilterSet):
    first_order_at = django_filters.DateFromToRangeFilter(
        label="First order between", widget=DateRangePickerWidget
    )

    class Meta:
        model = Customer
        fields = ["first_order_at"]


class CustomerIndexView(SafeExportIndexView):
    custom_field_preprocess = {
        "amount_spent": {
            IndexView.FORMAT_CSV: lambda total: str(summed(total)),
            IndexView.FORMAT_XLSX: summed,
        }
    }

    def get_base_queryset(self):
        return with_totals(super().get_base_queryset())


class CustomerInspectView(InspectView):
    def get_object(self, queryset=None):
        customer = get_object_or_404(with_totals(Customer.objects.all()), pk=self.pk)
        customer.amount_spent = summed(customer.amount_spent)
        return customer

    def get_context_data(self, **kwargs):
        customer = self.object
        return super().get_context_data(
            customer=customer,
            orders=customer.orders.order_by("-created_at"),
            **kwargs,
        )


class CustomerViewSet(ShopViewSet):
    """Who buys: read-only, with paid orders and the amount spent less refunds."""

    model = Customer
    icon = "group"
    menu_label = "Customers"
    add_to_admin_menu = False
    copy_view_enabled = False
    index_view_class = CustomerIndexView
    inspect_view_enabled = True
    inspect_view_class = CustomerInspectView
    inspect_template_name = "checkout/admin/customer_inspect.html"
    filterset_class = CustomerFilterSet
    form_fields = ["name"]  # required by ModelViewSet; editing is denied
    search_fields = ["email", "name"]
    search_backend_name = None
    ordering = ["-last_order_at", "pk"]
    list_display = [
        "email",
        "name",
        Column("order_count", label="Orders", sort_key="order_count"),
        Column(
            "amount_spent",
            label="Amount spent",
            sort_key="amount_spent",
            accessor=lambda customer: summed(customer.amount_spent),
        ),
        Column("last_order_at", label="Last order", sort_key="last_order_at"),
    ]
    list_export = [
        "email",
        "name",
        "order_count",
        "amount_spent",
        "first_order_at",
        "last_order_at",
        "city",
        "country",
    ]
    export_headings = {"order_count": "Orders", "amount_spent": "Amount spent"}
    export_filename = "customers"
