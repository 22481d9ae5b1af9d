"""The session cart: quantities in the session, everything else from the database.

The session holds ``{"items": {"<variant id>": quantity}}`` and nothing a shopper could
use to set a price. Names, prices, stock and totals are read when the cart is read, in
one query for all lines, and lines that can no longer be bought leave with a notice.

Showing and changing a cart (the cart page, the badge, the API, adding a wine) read
the variants through ``pagecache.VersionedRows``: this process's copy of each row,
read again as soon as the catalogue's version moves on (every variant save and
publish moves it, and every sale that takes a wine's stock low). Checking out reads
the database itself (``fresh``), so what Stripe is asked to charge never comes from
a copy.
"""

import copy
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, prefetch_related_objects
from wagtail.images import get_image_model

import pagecache
from core.money import quantize, shop_currency
from coupons import services as coupon_rules
from coupons.pricing import discount_for
from home.models import shop_settings
from orders.models import Order, OrderLine
from orders.placement import cart_holders
from orders.status import SOLD
from products import stock
from products.models import MAX_LINE_QUANTITY, WineVariant
from shipping import addresses
from shipping import services as shipping

from .models import SavedCart

SESSION_KEY = "cart"
MAX_LINES = 50
MAX_ORDERS = 5
CART_RENDITION = "fill-96x120"
LINE_FIELDS = (
    *("label", "sku", "price", "stock", "active", "bottles"),
    *("page__title", "page__vintage", "page__live", "page__url_path", "page__image"),
)

_ID = re.compile(r"[1-9][0-9]{0,17}")
_WHOLE = re.compile(r"-?[0-9]+")


class CartError(Exception):
    """Bad input: ``errors`` maps a field to the messages a shopper can act on."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


class CartConflict(Exception):
    """The client changed a cart it last saw at another version."""


class CartBusy(Exception):
    """The cart kept changing under this change (a burst of requests of one
    shopper); nothing of this change was saved."""


MAX_CHANGE_TRIES = 10


def _fail(field, message):
    raise CartError({field: [message]})


def parse_variant_id(value, field="variant"):
    if value is None or value == "":
        _fail(field, "Choose a wine to add.")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and _ID.fullmatch(value.strip()):
        return int(value)
    _fail(field, "That is not a wine we sell.")


def parse_quantity(value, field="quantity"):
    if value is None or value == "":
        _fail(field, "Enter a quantity.")
    if isinstance(value, int) and not isinstance(value, bool):
        quantity = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        text = value.strip()
        if len(text.lstrip("-")) > 9:  # never int() a huge string; it is out of range
            quantity = -1 if text.startswith("-") else MAX_LINE_QUANTITY + 1
        else:
            quantity = int(text)
    else:
        _fail(field, "The quantity must be a whole number.")
    if quantity < 1:
        _fail(field, "The quantity must be at least 1.")
    if quantity > MAX_LINE_QUANTITY:
        _fail(field, f"You can order at most {MAX_LINE_QUANTITY} of one item.")
    return quantity


@dataclass
class CartLine:
    """One line. Outside checkout, ``variant`` and its page are this process's shared
    copies (see the module's notes): read them, never change them."""

    variant: WineVariant
    quantity: int
    url: str | None = None
    available: int = 0  # what this cart may have: stock less others' holds

    @property
    def wine(self):
        return self.variant.page

    @property
    def unit_price(self):
        return self.variant.price

    @property
    def total(self):
        return quantize(self.variant.price * self.quantity)

    @property
    def max_quantity(self):
        return min(self.available, MAX_LINE_QUANTITY)

    @property
    def bottles(self):
        return self.variant.bottles * self.quantity


# Where the cart's delivery is estimated for, beside the cart in the session (it
# is not the cart's contents: changing it makes no new cart version).
DESTINATION_KEY = "ship_to"


def remember_destination(session, country, state=""):
    session[DESTINATION_KEY] = {"country": country, "state": state or ""}


def chosen_destination(session):
    """Where the shopper last said to deliver, as the address forms' selects
    take it: ``{"country": "US", "state": "US-OR"}``; empty if never said."""
    where = session.get(DESTINATION_KEY) or {}
    if not where.get("country"):
        return {}
    country = where["country"]
    return {
        "country": country,
        "state": addresses.state_value(country, where.get("state", "")),
    }


class Cart:
    def __init__(self, request, fresh=False):
        self.request = request
        self.fresh = fresh
        self.session = request.session
        data = self.session.get(SESSION_KEY) or {}
        self._items = {str(key): int(qty) for key, qty in data.get("items", {}).items()}
        self.id = data.get("id")
        # The orders placed for this cart, newest last; a paid one is taken out.
        legacy = [data["order"]] if data.get("order") else []  # sessions before 0.2
        self.order_tokens = list(data.get("orders") or legacy)
        self.coupon_code = data.get("coupon")
        self.coupon = None
        # Reading found something to store (a paid order's lines, a line gone or
        # lowered, a coupon that lapsed): only ``tidy`` stores it.
        self._dirty = False
        self._changed = False  # stored in the session, not yet with the account
        self._lines = None
        self._subtotal = None
        self._notices = []
        self._own_held = None

    @classmethod
    def for_request(cls, request, fresh=False):
        """One cart per request, so every reader sees the same lines.

        ``fresh``: read the lines from the database, not from this process's copy
        of the catalogue (checkout asks for it).
        """
        cart = getattr(request, "_cart", None)
        if cart is None:
            cart = request._cart = cls(request, fresh)
        elif fresh:
            cart.from_database()
        return cart

    @classmethod
    def change(cls, request, operation):
        """Make ``operation(cart)`` one atomic change of this request's cart.

        The session is stored whole, so two changes of one cart at once would each
        store the cart they read and the later would drop the earlier's lines. The
        change is stored only if the session is still as it was read (the session
        engine's compare-and-set); if not, the session is read again and the change
        made again on it. Returns ``(cart, what operation returned)``; bad input
        raises before anything is stored.
        """
        for _ in range(MAX_CHANGE_TRIES):
            cart = cls.for_request(request)
            try:
                result = operation(cart)
            except Exception:
                # Nothing half-made is stored at the end of the response either.
                cls.read_again(request)
                raise
            if cart._store():
                return cart, result
            cls.read_again(request)  # someone else stored the session first
        raise CartBusy()

    @staticmethod
    def read_again(request):
        """Forget this request's session and cart as read: the next reader reads
        them afresh."""
        request.session = request.session.__class__(request.session.session_key)
        request._cart = None

    def _store(self):
        session = self.session
        save = getattr(session, "save_if_unchanged", None)
        # An engine without compare-and-set saves at the end of the response.
        if session.modified and save is not None and not save():
            return False
        if self._changed:
            self.keep_for_account()
        return True

    def keep_for_account(self, user=None):
        """A signed-in shopper's cart is kept with their account too, for their next
        sign-in; only once the change is stored, so a refused one leaves no trace.
        ``user``: the one signing in, before the request knows them."""
        user = user or getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            SavedCart.objects.update_or_create(
                user=user, defaults={"items": self._items}
            )
        self._changed = False

    def from_database(self):
        """Read the lines from the database from now on (what checkout charges)."""
        if not self.fresh:
            self.fresh, self._lines = True, None
        return self

    def available_to_me(self, variant):
        """What this cart may have of ``variant``: its stock less what checkouts
        hold, but for this cart's own (a checkout it left for Stripe's page). Its
        own are asked for only when somebody holds the wine."""
        if not variant.held:
            return variant.stock
        if self._own_held is None:
            self._own_held = stock.held_by(self._own_holders())
        return max(variant.stock - variant.held + self._own_held.get(variant.pk, 0), 0)

    def _own_holders(self):
        return cart_holders(self.id) if self.id else []

    # Reading ------------------------------------------------------------------

    @property
    def items(self):
        return dict(self._items)

    @property
    def count(self):
        return sum(self._items.values())

    def __bool__(self):
        return bool(self._items)

    @property
    def version(self):
        """Changes exactly when the contents do: a digest of them."""
        canonical = json.dumps(
            [sorted(self._items.items()), self.coupon_code], separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def checkout_key(self):
        """This cart's contents, identified across requests: one pending order each.
        (A cart has an id from its first change; one that somehow has none gets it
        here, stored with the next change, which checkout makes at once.)"""
        if not self.id:
            self.id, self._dirty = uuid.uuid4().hex, True
        return f"{self.id}:{self.version}"

    @property
    def untidy(self):
        """Whether reading the cart found something ``tidy`` would store."""
        self._read()
        return self._dirty

    @property
    def notices(self):
        """What reading the cart found to tell the shopper: a paid order's lines taken
        out, lines gone or lowered, a coupon that lapsed."""
        self._read()
        return list(self._notices)

    def tidy(self):
        """Store what reading found: a paid order's lines taken out, lines gone or
        lowered, a coupon that no longer applies. Reading never stores; this is the
        change that does (make it through ``Cart.change``)."""
        if self.untidy:
            self._save(self.lines)

    @property
    def lines(self):
        return self._read()

    def _read(self):
        if self._lines is None:
            self._lines = self._read_lines()
        return self._lines

    @property
    def subtotal(self):
        lines = self.lines
        if self._subtotal is None or self._subtotal[0] is not lines:
            total = quantize(sum((line.total for line in lines), Decimal("0")))
            self._subtotal = (lines, total)
        return self._subtotal[1]

    @property
    def discount(self):
        lines = self.lines  # reading the lines validates the coupon
        if self.coupon is None or not lines:
            return quantize(Decimal("0"))
        return discount_for(self.coupon, self.subtotal)

    @property
    def total(self):
        """The goods after the discount; ``quote`` adds shipping and tax."""
        return quantize(self.subtotal - self.discount)

    @property
    def bottles(self):
        return sum(line.bottles for line in self.lines)

    def estimate(self):
        """The totals for where the shopper said they want it delivered (the
        cart page's estimate, or their last checkout's address), by the cheapest
        method: ``{"country", "state", "totals", "method"}``, or None if the
        shopper has not said or the shop does not deliver there ("refused")."""
        where = self.session.get(DESTINATION_KEY) or {}
        country, state = where.get("country"), where.get("state", "")
        if not country or not self.lines:
            return None
        try:
            totals, method = self.quote(country, state)
        except shipping.NoDelivery as refused:
            return {"country": country, "state": state, "refused": refused.reason}
        return {"country": country, "state": state, "totals": totals, "method": method}

    def quote(self, country, state="", method=None):
        """(Totals, method) for sending this cart to the address, by ``method`` or
        the cheapest; shipping.services.NoDelivery if nothing goes there. The
        order placed for it computes the same (orders/placement.py)."""
        lines, currency = self.lines, shop_currency()
        shop = shop_settings(self.request)
        return shipping.quote(
            [quantize(line.unit_price, currency) * line.quantity for line in lines],
            self.bottles,
            self.discount,
            currency=currency,
            country=country,
            state=state,
            method=method,
            prices_include_tax=shop.prices_include_tax,
            tax_at_payment=shop.tax_by_stripe,
            request=self.request,
        )

    def _forget_paid_order(self):
        """What an order of this cart was paid for leaves the cart before anything
        else; what was added since (another tab, the back button) stays, with a
        notice. The coupon was spent with the order."""
        if not self.order_tokens:
            return
        paid = _paid_orders(self.order_tokens)
        if not paid:
            return
        for token, (reference, bought) in paid.items():
            for variant_id, quantity in bought:
                key = str(variant_id)
                left = self._items.get(key, 0) - quantity
                if left > 0:
                    self._items[key] = left
                else:
                    self._items.pop(key, None)
            self.order_tokens.remove(token)
            if self._items:
                self._notices.append(
                    f"Your order {reference} is paid. What you added to your cart "
                    "after it was placed is still here."
                )
        self.coupon_code, self.coupon = None, None
        self._dirty, self._lines = True, None

    def _read_lines(self):
        self._forget_paid_order()
        if not self._items:
            return []
        variants = _variants(self._items, self.request, self.fresh)
        lines, changed = [], False
        for key, quantity in self._items.items():
            variant = variants.get(int(key))
            if variant is None or not _buyable(variant):
                name = (
                    f"{variant.page.title} ({variant.label})" if variant else "A wine"
                )
                self._notices.append(
                    f"{name} is no longer available and was removed from your cart."
                )
                changed = True
                continue
            available = self.available_to_me(variant)
            if available <= 0:
                self._notices.append(stock.gone_notice(variant))
                changed = True
                continue
            allowed = min(quantity, available, MAX_LINE_QUANTITY)
            if allowed != quantity:
                self._notices.append(stock.lowered_notice(variant, available, allowed))
                changed = True
            lines.append(CartLine(variant, allowed, available=available))
        self._add_urls(lines)
        if self.coupon_code:
            changed |= self._revalidate_coupon(lines)
        if changed:
            self._items = {str(line.variant.pk): line.quantity for line in lines}
            self._dirty = True
        return lines

    def _add_urls(self, lines):
        """Each line's wine URL on this site, kept like the lines themselves."""
        request = self.request
        pages = {line.wine.pk: line.wine for line in lines}
        if self.fresh:
            urls = {pk: _wine_url(page, request) for pk, page in pages.items()}
        else:
            host = request.get_host()
            found = _URLS.get_many(
                [(host, pk) for pk in pages],
                request,
                fetch=lambda keys: {
                    key: _wine_url(pages[key[1]], request) for key in keys
                },
            )
            urls = {pk: url for (_, pk), url in found.items()}
        for line in lines:
            line.url = urls.get(line.wine.pk)

    def _revalidate_coupon(self, lines):
        """Keep the coupon only while it still applies; say why when it goes."""
        coupon = coupon_rules.find(self.coupon_code)
        subtotal = sum((line.total for line in lines), Decimal("0"))
        try:
            if coupon is None:
                raise coupon_rules.CouponRejected(
                    f"The coupon {self.coupon_code} no longer exists."
                )
            coupon_rules.check(
                coupon,
                subtotal,
                holders=self._own_holders(),
            )
        except coupon_rules.CouponRejected as rejected:
            self._notices.append(f"{rejected.message} It was removed from your cart.")
            self.coupon_code, self.coupon = None, None
            return True
        self.coupon = coupon
        return False

    def as_json(self):
        lines = self.lines
        data = {
            "items": [
                {
                    "variant": line.variant.pk,
                    "sku": line.variant.sku,
                    "name": line.wine.display_name,
                    "label": line.variant.label,
                    "quantity": line.quantity,
                    "unit_price": str(quantize(line.unit_price)),
                    "line_total": str(line.total),
                    "url": line.url,
                }
                for line in lines
            ],
            "subtotal": str(self.subtotal),
            "discount": str(self.discount),
            "total": str(self.total),
            "currency": shop_currency(),
            "coupon": {
                "code": self.coupon.code,
                "description": self.coupon.description,
                "discount": str(self.discount),
            }
            if self.coupon
            else None,
            "count": self.count,
            "version": self.version,
        }
        estimate = self.estimate()
        if estimate is not None:
            data["estimate"] = _estimate_json(estimate)
        if self._notices:
            data["notices"] = list(self._notices)
        return data

    # Changing -----------------------------------------------------------------

    def add(self, variant_id, quantity):
        self._forget_paid_order()
        variant_id = parse_variant_id(variant_id)
        quantity = parse_quantity(quantity)
        variant = _available(variant_id, "variant", self.request)
        in_cart = self._items.get(str(variant_id), 0)
        _check_stock(
            variant,
            in_cart + quantity,
            "quantity",
            self.available_to_me(variant),
            in_cart=in_cart,
        )
        if not in_cart and len(self._items) >= MAX_LINES:
            _fail("variant", f"A cart holds at most {MAX_LINES} different wines.")
        self._items[str(variant_id)] = in_cart + quantity
        self._save()
        return variant

    def reorder(self, lines):
        """Put an earlier order's ``(variant id, quantity, name)`` lines back in
        the cart, each whole or as much of it as is left: ``(lines added, messages
        for the shopper)``, one message a line that could not come back whole."""
        added, told = 0, []
        for variant_id, quantity, name in lines:
            try:
                self.add(variant_id, quantity)
                added += 1
                continue
            except CartError as refused:
                reason = next(iter(refused.errors.values()))[0]
            variant = _variants([variant_id], self.request).get(variant_id)
            in_cart = self._items.get(str(variant_id), 0)
            left = self.available_to_me(variant) - in_cart if variant else 0
            if 0 < left < quantity:
                try:
                    self.add(variant_id, left)
                except CartError as still:  # a full cart, a wine no longer sold
                    reason = next(iter(still.errors.values()))[0]
                else:
                    added += 1
                    told.append(f"{name}: only {left} of {quantity} left, added.")
                    continue
            told.append(f"{name}: not added. {reason}")
        return added, told

    def update(self, variant_id, quantity):
        self._forget_paid_order()
        variant_id = parse_variant_id(variant_id)
        if str(variant_id) not in self._items:
            _fail("variant", "That wine is not in your cart.")
        quantity = parse_quantity(quantity)
        variant = _available(variant_id, "variant", self.request)
        _check_stock(variant, quantity, "quantity", self.available_to_me(variant))
        self._items[str(variant_id)] = quantity
        self._save()
        return variant

    def remove(self, variant_id):
        variant_id = parse_variant_id(variant_id)
        if str(variant_id) not in self._items:
            _fail("variant", "That wine is not in your cart.")
        del self._items[str(variant_id)]
        self._save()
        return _variants([variant_id], self.request).get(variant_id)

    def clear(self):
        if self._items:
            self._items = {}
            self._save()

    def replace(self, items, version):
        """Set the whole cart from a client's ``{"<id>": {"quantity": n}}``."""
        self._forget_paid_order()
        if version != self.version:
            raise CartConflict()
        if not isinstance(items, dict):
            _fail("items", 'Send "items" as an object of variant id to quantity.')
        if len(items) > MAX_LINES:
            _fail("items", f"A cart holds at most {MAX_LINES} different wines.")
        errors, wanted = {}, {}
        for key, entry in items.items():
            field = f"items.{key}"
            try:
                variant_id = parse_variant_id(key, field)
                if not isinstance(entry, dict) or "quantity" not in entry:
                    _fail(field, 'Send each line as {"quantity": n}.')
                wanted[variant_id] = parse_quantity(entry["quantity"], field)
            except CartError as error:
                errors.update(error.errors)
        if errors:
            raise CartError(errors)
        variants = _variants(wanted, self.request)
        for variant_id, quantity in wanted.items():
            field = f"items.{variant_id}"
            try:
                variant = variants.get(variant_id)
                if variant is None:
                    _fail(field, "That is not a wine we sell.")
                if not _buyable(variant):
                    _fail(field, f"{variant.page.title} is no longer available.")
                _check_stock(variant, quantity, field, self.available_to_me(variant))
            except CartError as error:
                errors.update(error.errors)
        if errors:
            raise CartError(errors)
        self._items = {str(key): quantity for key, quantity in wanted.items()}
        self._save()

    def merge(self, items):
        """Fold an earlier cart in, capped by stock; drop what cannot be bought."""
        self._forget_paid_order()
        combined = dict(self._items)
        for key, quantity in items.items():
            combined[str(key)] = combined.get(str(key), 0) + int(quantity)
        variants = _variants(combined, self.request)
        merged = {}
        for key, quantity in combined.items():
            variant = variants.get(int(key))
            if variant is None or not _buyable(variant):
                continue
            available = self.available_to_me(variant)
            if available > 0:
                merged[key] = min(quantity, available, MAX_LINE_QUANTITY)
        if merged != self._items:
            self._items = merged
            self._save()

    def apply_coupon(self, code, request):
        """Apply a typed code; raises CouponRejected or TooManyAttempts."""
        if self.coupon_code and coupon_rules.normalise_code(code) == self.coupon_code:
            raise coupon_rules.CouponRejected(
                f"The coupon {self.coupon_code} is already applied."
            )
        coupon = coupon_rules.validate_code(
            code,
            self.subtotal,
            request,
            holders=self._own_holders(),
        )
        self.coupon_code = coupon.code
        self._save()
        return coupon

    def restore(self, items, coupon_code):
        """Put back contents read earlier in this request (an all-or-nothing change)."""
        self._items, self.coupon_code, self.coupon = dict(items), coupon_code, None
        self._save()

    def remove_coupon(self):
        if self.coupon_code:
            self.coupon_code, self.coupon = None, None
            self._save()

    def attach_order(self, token):
        """Remember an order placed for this cart, to take out what it pays for."""
        if token not in self.order_tokens:
            self.order_tokens = [*self.order_tokens, token][-MAX_ORDERS:]
            self._save(self._lines)

    def _save(self, lines=None):
        self.id = self.id or uuid.uuid4().hex
        data = {"id": self.id, "items": self._items}
        if self.order_tokens:
            data["orders"] = self.order_tokens
        if self.coupon_code:
            data["coupon"] = self.coupon_code
        self.session[SESSION_KEY] = data
        self.session.modified = True
        self._lines, self._dirty, self._changed = lines, False, True


def _with_pages():
    """Variants with what a cart line shows of their wine, in one query: only those
    columns, since a wine page has dozens the cart never reads."""
    return WineVariant.objects.select_related("page").only(*LINE_FIELDS).with_held()


def _fetch_variants(ids):
    return _with_pages().in_bulk(ids)


_VARIANTS = pagecache.VersionedRows(_fetch_variants)
_URLS = pagecache.VersionedRows()
_THUMBNAILS = pagecache.VersionedRows()


def _variants(ids, request, fresh=False):
    """The variants for these ids with their wine pages: from this process's copy
    while the catalogue is unchanged, else in one query; ``fresh`` always queries."""
    ids = [int(key) for key in ids]
    if fresh:
        return _fetch_variants(ids)
    return _VARIANTS.get_many(ids, request)


def thumbnails(lines, request):
    """Each line's cart-sized bottle shot, by wine page id: kept with the catalogue's
    version like the lines, else read in two queries for all lines (only the cart
    page shows them)."""

    pages = {line.wine.pk: line.wine for line in lines}

    def fetch(page_ids):
        # Copies: the pages the lines hold are shared and stay as they were read.
        wanted = [copy.copy(pages[pk]) for pk in page_ids]
        images = get_image_model().objects.prefetch_renditions(CART_RENDITION)
        prefetch_related_objects(wanted, Prefetch("image", queryset=images))
        return {
            page.pk: page.image.get_rendition(CART_RENDITION) if page.image else None
            for page in wanted
        }

    return _THUMBNAILS.get_many(list(pages), request, fetch)


def _wine_url(page, request):
    """The wine's URL on this site; one lookup of the site root paths a request."""
    parts = page.get_url_parts(request)
    return parts[2] if parts else None


def _buyable(variant):
    return variant.active and variant.page.live


def _available(variant_id, field, request):
    variant = _variants([variant_id], request).get(variant_id)
    if variant is None:
        _fail(field, "That is not a wine we sell.")
    if not _buyable(variant):
        _fail(field, f"{variant.page.title} ({variant.label}) is no longer available.")
    return variant


def _check_stock(variant, quantity, field, available, in_cart=0):
    name = f"{variant.page.title} ({variant.label})"
    if available <= 0 and variant.stock > 0:
        _fail(field, f"{name} is reserved in other shoppers’ checkouts just now.")
    if available <= 0:
        _fail(field, f"{name} is sold out.")
    if quantity > MAX_LINE_QUANTITY:
        _fail(field, f"You can order at most {MAX_LINE_QUANTITY} of one item.")
    if quantity > available:
        already = f" You already have {in_cart} in your cart." if in_cart else ""
        _fail(field, f"Only {available} of {name} left.{already}")


def _paid_orders(tokens):
    """{token: (reference, [(variant id, quantity), …])} of the paid ones."""
    paid = dict(
        Order.objects.filter(token__in=tokens, status__in=SOLD).values_list(
            "token", "reference"
        )
    )
    lines = {token: (reference, []) for token, reference in paid.items()}
    for token, variant_id, quantity in OrderLine.objects.filter(
        order__token__in=list(paid), variant__isnull=False
    ).values_list("order__token", "variant_id", "quantity"):
        lines[token][1].append((variant_id, quantity))
    return lines


def _estimate_json(estimate):
    if "refused" in estimate:
        return {
            "country": estimate["country"],
            "state": estimate["state"],
            "refused": estimate["refused"],
        }
    totals, method = estimate["totals"], estimate["method"]
    return {
        "country": estimate["country"],
        "state": estimate["state"],
        "method": method.name if method else None,
        "shipping": str(totals.shipping),
        "tax": str(totals.tax),
        "prices_include_tax": totals.prices_include_tax,
        "total": str(totals.total),
    }
