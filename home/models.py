from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Prefetch
from django.http import Http404
from django_countries.fields import CountryField
from wagtail.admin.panels import (
    FieldPanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.contrib.routable_page.models import RoutablePageMixin
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index

import pagecache
from core.blocks import BodyBlock
from core.pages import KnownRestrictionsMixin
from products.models import WinePage, cacheable_page
from shipping.models import ShippingMethod, ShippingZone


def _routes_itself(page, components):
    """Whether ``page`` is a live routable page with a URL of its own for what is
    left of the path."""
    model = page.specific_class
    if model is None or not issubclass(model, RoutablePageMixin) or not page.live:
        return False
    try:
        model.get_resolver().resolve("/" + "/".join(components) + "/")
    except Http404:
        return False
    return True


class HomePage(KnownRestrictionsMixin, Page):
    hero_heading = models.CharField(max_length=120, blank=True)
    hero_text = models.TextField(
        blank=True, help_text="One or two sentences under the heading."
    )
    hero_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(BodyBlock(), blank=True)

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("hero_heading"),
                FieldPanel("hero_text"),
                FieldPanel("hero_image"),
            ],
            heading="Hero",
        ),
        FieldPanel("body"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["products.WinesIndexPage", "home.StandardPage"]
    max_count = 1

    class Meta:
        verbose_name = "home page"
        verbose_name_plural = "home pages"

    def route(self, request, path_components):
        """Wagtail walks a URL a level at a time, with two queries a level (the
        child, then its specific page): ten for a wine page, a third of its
        uncached render. This reads every page along the path in one query and
        hands the last one what is left to route: nothing, or a routable page's
        own URLs. A routable page on the way keeps its URLs before its children,
        as in Wagtail's walk; a missing slug ends in Wagtail's 404."""
        if not path_components:
            return super().route(request, path_components)
        along = Page.objects.filter(
            path__startswith=self.path,
            depth__gt=self.depth,
            depth__lte=self.depth + len(path_components),
            slug__in=path_components,
        )
        children = {(page.path[: -page.steplen], page.slug): page for page in along}
        parent, index = self, 0
        while index < len(path_components):
            if parent is not self and _routes_itself(parent, path_components[index:]):
                break
            child = children.get((parent.path, path_components[index]))
            if child is None:
                break
            child._cached_parent_obj = parent
            parent, index = child, index + 1
        if parent is self:
            return super().route(request, path_components)
        return parent.specific.route(request, path_components[index:])

    def get_context(self, request, *args, **kwargs):
        cacheable_page(request, self)
        context = super().get_context(request, *args, **kwargs)
        context["featured_wines"] = (
            WinePage.objects.for_listing().filter(in_stock=True).order_by("-pk")[:8]
        )
        return context


class StandardPage(KnownRestrictionsMixin, Page):
    """About, delivery, terms: plain content pages."""

    intro = models.TextField(blank=True)
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(BodyBlock(), blank=True)
    show_delivery_rates = models.BooleanField(
        default=False,
        help_text="List where the shop delivers, by which methods and at what "
        "price, as set in Shop › Shipping zones and methods.",
    )

    search_fields = Page.search_fields + [
        index.SearchField("intro"),
        index.SearchField("body"),
    ]
    content_panels = Page.content_panels + [
        FieldPanel("intro"),
        FieldPanel("image"),
        FieldPanel("body"),
        FieldPanel("show_delivery_rates"),
    ]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        if self.show_delivery_rates:
            context["delivery_zones"] = ShippingZone.objects.prefetch_related(
                Prefetch(
                    "methods",
                    queryset=ShippingMethod.objects.filter(active=True),
                )
            )
            context["prices_include_tax"] = shop_settings(request).prices_include_tax
        return context

    parent_page_types = ["home.HomePage", "home.StandardPage"]
    subpage_types = ["home.StandardPage"]

    class Meta:
        verbose_name = "standard page"
        verbose_name_plural = "standard pages"


class PaymentPage(models.TextChoices):
    """Where the shopper pays: Stripe's hosted Checkout page, or the shop's own
    checkout with Stripe's Payment Element (a PaymentIntent)."""

    HOSTED = "hosted", "Stripe-hosted Checkout (the shopper goes to Stripe's page)"
    ON_PAGE = "on_page", "On the shop's page (Stripe's Payment Element)"


class TaxCalculation(models.TextChoices):
    """Who computes the tax: the shop, by the rates in Shop › Tax rates, or Stripe
    Tax (``automatic_tax``), at payment on Stripe's hosted Checkout page."""

    SHOP = "shop", "The shop, by its own tax rates (Shop › Tax rates)"
    STRIPE = "stripe", "Stripe Tax, at payment (needs Stripe Tax on the account)"


@register_setting(icon="site")
class ShopSettings(BaseGenericSetting):
    shop_name = models.CharField(max_length=100, default="Cellar")
    legal_name = models.CharField(
        max_length=200, blank=True, help_text="The company name printed on invoices."
    )
    address = models.TextField(blank=True, help_text="Postal address, one line each.")
    tax_id = models.CharField("tax id", max_length=50, blank=True)
    contact_email = models.EmailField(blank=True)
    logo = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Shown on invoices.",
    )
    delivery_countries = CountryField(
        multiple=True,
        blank=True,
        help_text="Countries the shop delivers to; checkout offers only these.",
    )
    currency_symbol = models.CharField(
        max_length=5,
        blank=True,
        help_text="How prices are shown, e.g. $ or €. Blank: the currency's code.",
    )
    hold_minutes = models.PositiveIntegerField(
        "checkout hold (minutes)",
        default=30,
        validators=[MinValueValidator(30), MaxValueValidator(24 * 60)],
        help_text="How long a checkout holds its bottles and coupon for the shopper "
        "paying on Stripe: 30 minutes (Stripe's shortest) to 24 hours.",
    )
    prices_include_tax = models.BooleanField(
        "prices include tax",
        default=False,
        help_text="Ticked: wine prices are entered with tax in them (as in Europe) "
        "and invoices show the tax they contain. Unticked: tax is added at "
        "checkout by the delivery address's rate (Shop › Tax rates).",
    )
    tax_calculation = models.CharField(
        max_length=10,
        choices=TaxCalculation.choices,
        default=TaxCalculation.SHOP,
        help_text="Stripe Tax computes the tax from the delivery address when the "
        "shopper pays, on Stripe's hosted page (the shop's own payment page is not "
        "used then); the cart and checkout show totals before tax. Checkouts "
        "started after a change use the new way.",
    )
    payment_page = models.CharField(
        max_length=10,
        choices=PaymentPage.choices,
        default=PaymentPage.HOSTED,
        help_text="Checkouts started after a change use the new page; those under "
        "way finish where they began. Shoppers without JavaScript always pay on "
        "Stripe's hosted page.",
    )

    edit_handler = TabbedInterface(
        [
            ObjectList(
                [
                    FieldPanel("shop_name"),
                    FieldPanel("contact_email"),
                    FieldPanel("currency_symbol"),
                    FieldPanel("delivery_countries"),
                    FieldPanel("hold_minutes"),
                    FieldPanel("payment_page"),
                ],
                heading="Shop",
            ),
            ObjectList(
                [
                    FieldPanel("legal_name"),
                    FieldPanel("address"),
                    FieldPanel("tax_id"),
                    FieldPanel("prices_include_tax"),
                    FieldPanel("tax_calculation"),
                    FieldPanel("logo"),
                ],
                heading="Invoices",
            ),
        ]
    )

    @property
    def tax_by_stripe(self):
        return self.tax_calculation == TaxCalculation.STRIPE

    @property
    def pays_on_page(self):
        """Whether checkouts may pay on the shop's page: Stripe Tax computes the
        tax on Stripe's hosted page only."""
        return self.payment_page == PaymentPage.ON_PAGE and not self.tax_by_stripe

    class Meta:
        verbose_name = "shop settings"
        verbose_name_plural = "shop settings"

    def __str__(self):
        return self.shop_name


def shop_settings(request=None):
    """The ShopSettings, kept by this process until the catalogue changes (saving
    them moves it on): the header, the footer and every price show them."""
    return pagecache.per_version(
        "shop_settings", request, lambda: ShopSettings.load(request_or_site=request)
    )
