"""Orders, their lines, history, emails and invoices, and customers.

They keep the ``checkout`` app label and tables they were made with: this module
holds the code, the checkout app its migrations.
"""

import secrets
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django_countries.fields import CountryField

from core.money import quantize
from home.models import PaymentPage

from .status import SOLD, OrderStatus

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference():
    return "C-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(7))


def new_token():
    return secrets.token_urlsafe(24)


class Carrier(models.TextChoices):
    """The couriers a wine shop hands parcels to; each has a tracking page."""

    UPS = "ups", "UPS"
    FEDEX = "fedex", "FedEx"
    USPS = "usps", "USPS"
    DHL = "dhl", "DHL Express"
    ROYAL_MAIL = "royal_mail", "Royal Mail"
    CANADA_POST = "canada_post", "Canada Post"
    LA_POSTE = "la_poste", "La Poste (Colissimo)"
    AUSTRALIA_POST = "australia_post", "Australia Post"
    OTHER = "other", "Another carrier"


# Each carrier's public tracking page for a tracking number ({} : the number).
TRACKING_PAGES = {
    Carrier.UPS: "https://www.ups.com/track?tracknum={}",
    Carrier.FEDEX: "https://www.fedex.com/fedextrack/?trknbr={}",
    Carrier.USPS: "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    Carrier.DHL: "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
    "?submit=1&tracking-id={}",
    Carrier.ROYAL_MAIL: "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    Carrier.CANADA_POST: "https://www.canadapost-postescanada.ca/track-reperage/en"
    "#/search?searchFor={}",
    Carrier.LA_POSTE: "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
    Carrier.AUSTRALIA_POST: "https://auspost.com.au/mypost/track/details/{}",
}


class Order(models.Model):
    reference = models.CharField(max_length=12, unique=True, default=new_reference)
    token = models.CharField(max_length=64, unique=True, default=new_token)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    # Identifies the cart contents this order was placed for: one pending order each.
    checkout_key = models.CharField(max_length=80, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )

    email = models.EmailField()
    name = models.CharField(max_length=120)
    address_line1 = models.CharField("address", max_length=200)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    state = models.CharField("state or province", max_length=64, blank=True)
    country = CountryField()
    phone = models.CharField(max_length=20, blank=True, help_text="For the courier.")

    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # Shipping and tax as the checkout computed them (shipping/totals.py): total =
    # subtotal − discount + shipping (+ tax unless the prices include it).
    shipping_method = models.CharField(max_length=100, blank=True)
    shipping = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # Of ``tax``, what is on the shipping; the rate (one per address) for reports.
    shipping_tax = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    tax_name = models.CharField(max_length=50, blank=True)
    tax_percent = models.DecimalField(
        max_digits=6, decimal_places=3, null=True, blank=True
    )
    prices_include_tax = models.BooleanField(default=False)
    # Stripe Tax computes the tax at payment (home.TaxCalculation): until then
    # ``tax`` is 0 and ``total`` is before tax; the payment records both.
    tax_by_stripe = models.BooleanField(default=False)
    # [{"label", "percent", "country", "state", "taxable", "amount"}], by rate.
    tax_lines = models.JSONField(default=list, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    coupon_code = models.CharField(max_length=50, blank=True)

    # Where the shopper pays (home.PaymentPage): a Checkout Session on Stripe's
    # page, or a PaymentIntent on the shop's own (its id set when it is made).
    payment_page = models.CharField(
        max_length=10, choices=PaymentPage.choices, default=PaymentPage.HOSTED
    )
    stripe_session_id = models.CharField(max_length=255, unique=True, null=True)
    # Indexed: a refund event finds its order by it.
    stripe_payment_intent_id = models.CharField(
        max_length=255, blank=True, db_index=True
    )
    # The Stripe Customer of the session: a returning shopper's, chosen once when
    # the order is placed (so a retried session create sends the same parameters),
    # or the one Stripe created on payment.
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    # The successful charge, as the paid transition read it from Stripe.
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    customer = models.ForeignKey(
        "Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    checkout_expires_at = models.DateTimeField()
    # Set while the order holds its bottles and coupon use (orders/holds.py): until
    # its checkout ends, however that is.
    held_until = models.DateTimeField(null=True, blank=True, db_index=True)
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # When Stripe last confirmed a refund (of part or all of the order).
    refunded_at = models.DateTimeField(null=True, blank=True)
    # When Stripe last failed a refund it had confirmed (the card was closed):
    # from then on the charge Stripe holds, not an event's copy, says what is
    # refunded (checkout/fulfilment.py: apply_refund_failure).
    refund_failed_at = models.DateTimeField(null=True, blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=20, choices=Carrier.choices, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    needs_attention = models.BooleanField(default=False)
    attention_reason = models.TextField(blank=True)
    # What the flagged problems put at risk: goods paid for but not in stock, a
    # discount past a coupon's limit, a payment that may have doubled another.
    amount_at_stake = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "checkout"
        ordering = ["-created_at"]
        verbose_name = "order"
        verbose_name_plural = "orders"
        permissions = [
            ("refund_order", "Can refund an order through Stripe"),
            ("ship_order", "Can mark an order shipped"),
            ("manage_order_invoice", "Can resend or regenerate an order's invoice"),
            ("clear_order_attention", "Can clear an order's needs-attention flag"),
            ("release_order_hold", "Can end an order's checkout and release its hold"),
        ]
        indexes = [
            models.Index(fields=["status", "paid_at"], name="order_status_paid_at"),
            models.Index(fields=["paid_at"], name="order_paid_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["checkout_key"],
                condition=models.Q(status="pending"),
                name="one_pending_order_per_cart",
            )
        ]

    # The note on the status change of an order whose cart was checked out again.
    SUPERSEDED = "Superseded by the newer checkout of the same cart, order"

    def __str__(self):
        return self.reference

    @property
    def is_paid(self):
        return self.status in SOLD

    def timeline(self):
        """What happened to a paid order, oldest first, as (step, when): paid,
        invoice ready, shipped, delivered, refunded (its last refund), a refund
        Stripe failed (its last)."""
        steps = [
            ("paid", self.paid_at),
            ("invoice", self.invoice.updated_at if self.invoice_ready else None),
            ("shipped", self.shipped_at),
            ("delivered", self.delivered_at),
            ("refunded", self.refunded_at if self.amount_refunded else None),
            ("refund_failed", self.refund_failed_at),
        ]
        return sorted(
            ((step, when) for step, when in steps if when), key=lambda s: s[1]
        )

    @property
    def tracking_url(self):
        """The carrier's page for this parcel; empty without one."""
        page = TRACKING_PAGES.get(self.carrier)
        if not page or not self.tracking_number:
            return ""
        return page.format(quote(self.tracking_number, safe=""))

    @property
    def pays_on_page(self):
        return self.payment_page == PaymentPage.ON_PAGE

    @property
    def payment_started(self):
        """Whether Stripe has a session or an intent for this order."""
        return bool(self.stripe_session_id) or (
            self.pays_on_page and bool(self.stripe_payment_intent_id)
        )

    @property
    def goods_total(self):
        """What the goods sold for, after the discount (and, for reports, before
        shipping; with prices including tax, the tax is in it)."""
        return self.subtotal - self.discount

    @property
    def tax_added(self):
        return 0 if self.prices_include_tax else self.tax

    @property
    def currency_code(self):
        return self.currency.upper()

    @property
    def has_invoice(self):
        return getattr(self, "invoice", None) is not None

    @property
    def invoice_ready(self):
        return self.has_invoice and self.invoice.status == Invoice.Status.READY

    @property
    def invoice_state(self):
        invoice = getattr(self, "invoice", None)
        if invoice is None:
            return "Missing" if self.is_paid else "—"
        state = invoice.get_status_display().lower()
        if invoice.status == Invoice.Status.READY and not invoice.emailed_at:
            state = "ready, not emailed"
        return f"{invoice.number} ({state})"

    @property
    def invoice_progress(self):
        """Where a paid order's invoice and its email are, as the shopper is told:
        ``making``, ``retrying`` (a render failed), ``mailing``, ``mail_retrying``
        (an email failed), ``sent``; None before payment."""
        invoice = getattr(self, "invoice", None)
        if not self.is_paid:
            return None
        if invoice is None or invoice.status == Invoice.Status.PENDING:
            return "making"
        if invoice.status == Invoice.Status.FAILED:
            return "retrying"
        if invoice.emailed_at:
            return "sent"
        if invoice.last_error.startswith(Invoice.EMAIL_ERROR):
            return "mail_retrying"
        return "mailing"

    def same_cart_orders(self):
        """The other orders placed for this order's cart (its other versions)."""
        cart_id = self.checkout_key.split(":", 1)[0]
        return Order.objects.filter(checkout_key__startswith=f"{cart_id}:").exclude(
            pk=self.pk
        )

    def flag(self, reason, at_stake=0):
        """Ask a merchant to look at this order; reasons, and the money each puts
        at stake, accumulate."""
        self.needs_attention = True
        self.amount_at_stake += at_stake
        self.attention_reason = "\n".join(filter(None, [self.attention_reason, reason]))


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        "products.WineVariant", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    wine_name = models.CharField(max_length=255)
    variant_label = models.CharField(max_length=60)
    sku = models.CharField("SKU", max_length=40)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        app_label = "checkout"
        ordering = ["pk"]
        verbose_name = "order line"
        verbose_name_plural = "order lines"

    def __str__(self):
        return f"{self.quantity} × {self.wine_name} ({self.variant_label})"

    @property
    def line_total(self):
        return quantize(self.unit_price * self.quantity, self.order.currency)


class OrderStatusChange(models.Model):
    """Every status change with what caused it: a webhook event, a page, a task."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    cause = models.CharField(max_length=255)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "checkout"
        ordering = ["created_at", "pk"]
        verbose_name = "order status change"
        verbose_name_plural = "order status changes"

    def __str__(self):
        return f"{self.order}: {self.from_status} → {self.to_status} ({self.cause})"


class OrderEmail(models.Model):
    """An email sent to the shopper about an order, for the merchant to see."""

    class Kind(models.TextChoices):
        PAID = "paid", "Order paid, with invoice"
        SHIPPED = "shipped", "Order shipped"
        REFUNDED = "refunded", "Refund"
        REFUND_FAILED = "refund_failed", "Refund failed"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    # What the email told of, where one kind is sent more than once: the total
    # refunded so far ("12.50") after a refund or a failed one, so each is told once.
    detail = models.CharField(max_length=50, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "checkout"
        ordering = ["sent_at", "pk"]
        verbose_name = "order email"
        verbose_name_plural = "order emails"

    def __str__(self):
        return f"{self.order}: {self.subject} → {self.to}"


def private_storage():
    """Files no URL serves: invoices go through a view that checks who asks."""
    return storages["private"]


def invoice_upload_to(invoice, filename):
    return f"invoices/{invoice.year}/{filename}"


class InvoiceCounter(models.Model):
    """The last invoice number of a year, locked while the next is taken."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "checkout"
        verbose_name = "invoice counter"
        verbose_name_plural = "invoice counters"

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    EMAIL_ERROR = "Email: "  # how last_error starts when the email failed

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    order = models.OneToOneField(
        Order, on_delete=models.PROTECT, related_name="invoice"
    )
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=20, unique=True)
    issued_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    last_error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    pdf = models.FileField(
        storage=private_storage, upload_to=invoice_upload_to, blank=True
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "checkout"
        ordering = ["-year", "-sequence"]
        verbose_name = "invoice"
        verbose_name_plural = "invoices"
        constraints = [
            models.UniqueConstraint(
                fields=["year", "sequence"], name="one_number_a_year"
            )
        ]

    def __str__(self):
        return self.number

    @property
    def filename(self):
        return f"{self.number}.pdf"


class CustomerQuerySet(models.QuerySet):
    def for_email(self, email):
        """Match an email as the unique index does: ignoring case."""
        return self.alias(email_lower=Lower("email")).filter(
            email_lower=Lower(Value(email))
        )


class Customer(models.Model):
    """A shopper who paid at least once, recognised by email whatever its case.

    Created or updated only on an order's paid transition. Stripe Customer ids are
    kept per key mode: a test-mode id means nothing to live Stripe and vice versa.
    """

    email = models.EmailField()
    name = models.CharField(max_length=120)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    state = models.CharField("state or province", max_length=64, blank=True)
    country = CountryField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    stripe_customer_id_test = models.CharField(
        "Stripe Customer (test mode)", max_length=255, blank=True
    )
    stripe_customer_id_live = models.CharField(
        "Stripe Customer (live mode)", max_length=255, blank=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()
    # The inspect page lists a customer's orders; Wagtail's reference index would
    # only add writes to every paid transition.
    wagtail_reference_index_ignore = True

    class Meta:
        app_label = "checkout"
        ordering = ["-last_order_at", "pk"]
        verbose_name = "customer"
        verbose_name_plural = "customers"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="one_customer_per_email"),
            models.UniqueConstraint(
                fields=["stripe_customer_id_test"],
                condition=~models.Q(stripe_customer_id_test=""),
                name="one_customer_per_stripe_test_id",
            ),
            models.UniqueConstraint(
                fields=["stripe_customer_id_live"],
                condition=~models.Q(stripe_customer_id_live=""),
                name="one_customer_per_stripe_live_id",
            ),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.name else self.email

    @staticmethod
    def stripe_id_field(livemode):
        return "stripe_customer_id_live" if livemode else "stripe_customer_id_test"

    def stripe_id(self, livemode):
        return getattr(self, self.stripe_id_field(livemode))


class SavedAddress(models.Model):
    """A delivery address a signed-in shopper keeps for their next checkouts; one
    of them (the first saved, until they choose) is the default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses"
    )
    name = models.CharField(max_length=200)
    address_line1 = models.CharField(max_length=200)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    state = models.CharField(max_length=64, blank=True)
    country = CountryField()
    phone = models.CharField(max_length=30, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "checkout"
        ordering = ["-is_default", "-created_at", "-pk"]
        verbose_name = "saved address"
        verbose_name_plural = "saved addresses"

    def __str__(self):
        return f"{self.name}, {self.address_line1}, {self.city}, {self.country.code}"

    def same_place(self, fields):
        """Whether ``fields`` (an address as the checkout cleans it) is this one."""
        return all(
            str(getattr(self, name) or "").strip().casefold()
            == str(fields.get(name) or "").strip().casefold()
            for name in ("address_line1", "address_line2", "city", "postal_code")
        ) and self.country.code == str(fields.get("country") or "")

    @classmethod
    def keep(cls, user, fields):
        """Save ``fields`` for the user unless they have it already; the first
        becomes the default. The kept address."""
        for address in cls.objects.filter(user=user):
            if address.same_place(fields):
                return address
        return cls.objects.create(
            user=user,
            is_default=not cls.objects.filter(user=user).exists(),
            **{
                name: fields.get(name) or ""
                for name in (
                    "name",
                    "address_line1",
                    "address_line2",
                    "city",
                    "postal_code",
                    "state",
                    "country",
                    "phone",
                )
            },
        )
