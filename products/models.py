import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, Min, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.text import slugify
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    ObjectList,
    Panel,
    TabbedInterface,
)
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField, StreamField
from wagtail.images import get_image_model
from wagtail.models import Orderable, Page, PageManager
from wagtail.query import PageQuerySet
from wagtail.search import index

import pagecache
from core.blocks import BodyBlock
from core.money import quantize, shop_currency
from core.pages import KnownRestrictionsMixin, ancestors

from .cards import wine_cards
from .catalogue import WINES_PER_PAGE, WineFilterForm, canonical_page

# The sizes a wine card's srcset offers (phones at 2x take the larger)
LISTING_RENDITIONS = ("fill-360x450", "fill-720x900")
DETAIL_RENDITION = "fill-600x750"
DETAIL_RENDITIONS = ("fill-360x450", "fill-600x750", "fill-720x900")
# Pages show a wine's stock as "Only N left" at or below this, else "In stock".
LOW_STOCK_THRESHOLD = 5
# The most of one variant an order line holds.
MAX_LINE_QUANTITY = 24


def cacheable_page(request, page):
    """The page's response may be cached for everyone: unless it is a preview, or
    behind a password or login (a visitor who got through must not hand it on)."""
    pagecache.cacheable(
        request,
        unless=lambda: (
            getattr(request, "is_preview", False)
            or page.get_view_restrictions().exists()
        ),
    )


class Colour(models.TextChoices):
    RED = "red", "Red"
    WHITE = "white", "White"
    ROSE = "rose", "Rosé"
    SPARKLING = "sparkling", "Sparkling"
    SWEET = "sweet", "Sweet"
    FORTIFIED = "fortified", "Fortified"


class GrapeVariety(index.Indexed, models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True, blank=True)
    description = models.TextField(blank=True)

    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]
        verbose_name = "grape variety"
        verbose_name_plural = "grape varieties"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)
        super().save(*args, **kwargs)


class PlacePage(KnownRestrictionsMixin, Page):
    """A country or region: a content page that also lists the wines under it."""

    intro = models.TextField(blank=True, help_text="A short lead paragraph.")
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = StreamField(BodyBlock(), blank=True)

    search_fields = Page.search_fields + [index.SearchField("intro")]
    content_panels = Page.content_panels + [
        FieldPanel("intro"),
        FieldPanel("image"),
        FieldPanel("body"),
    ]

    class Meta:
        abstract = True

    def get_context(self, request, *args, **kwargs):
        cacheable_page(request, self)
        context = super().get_context(request, *args, **kwargs)
        context.update(self.browse(request))
        context["breadcrumbs"] = ancestors(self)
        return context

    def regions_to_filter(self, regions):
        """The regions the filter form offers on this page."""
        return regions

    def browse(self, request, wines=None):
        """The listing: the wines under this page (or ``wines``), filtered,
        sorted and paged."""
        countries = list(
            CountryPage.objects.live()
            .order_by("title")
            .only("title", "slug", "path", "depth")
        )
        regions = (
            RegionPage.objects.live()
            .order_by("title")
            .only("title", "slug", "path", "depth")
        )
        form = WineFilterForm(
            request.GET or None,
            countries=countries,
            regions=list(self.regions_to_filter(regions)),
            grapes=list(GrapeVariety.objects.only("name", "slug")),
            colours=Colour.choices,
        )
        if form.is_bound:
            form.is_valid()
        if wines is None:
            wines = WinePage.objects.for_listing().descendant_of(self)
        wines = form.filter(wines)
        paginator = Paginator(wines, WINES_PER_PAGE)
        page = paginator.get_page(request.GET.get("page"))
        if form.errors or not canonical_page(request, page):
            pagecache.not_canonical(request)
        query = request.GET.copy()
        query.pop("page", None)
        return {
            "filter_form": form,
            "wines": page,
            "paginator": paginator,
            "filter_query": query.urlencode(),
            "is_filtered": any(
                v for k, v in request.GET.items() if k not in ("page", "sort")
            ),
        }

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        if response.context_data["filter_form"].errors:
            response.status_code = 400
        return response


class WinesIndexPage(RoutablePageMixin, PlacePage):
    """All the wines; and under it a page for each grape variety
    (``grapes/<slug>/``) and each producer (``producers/<slug>/``), listing their
    wines with the same filters."""

    parent_page_types = ["home.HomePage"]
    subpage_types = ["products.CountryPage"]
    max_count = 1

    class Meta:
        verbose_name = "wines index page"
        verbose_name_plural = "wines index pages"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["countries"] = (
            CountryPage.objects.child_of(self).live().order_by("title")
        )
        return context

    @path("")
    def index_route(self, request, *args, **kwargs):
        return PlacePage.serve(self, request, *args, **kwargs)

    @path("grapes/<slug:slug>/")
    def grape_page(self, request, slug):
        grape = GrapeVariety.objects.filter(slug=slug).first()
        if grape is None:
            raise Http404("No such grape variety.")
        return self.taxonomy(
            request,
            kind="Grape variety",
            name=grape.name,
            intro=grape.description,
            wines=WinePage.objects.for_listing().filter(grapes=grape),
            hide="grape",
        )

    @path("producers/<slug:slug>/")
    def producer_page(self, request, slug):
        name = producers(request).get(slug)
        if name is None:
            raise Http404("No such producer.")
        return self.taxonomy(
            request,
            kind="Producer",
            name=name,
            intro="",
            wines=WinePage.objects.for_listing().filter(producer=name),
        )

    def taxonomy(self, request, *, kind, name, intro, wines, hide=""):
        """A grape's or a producer's page: its wines, filtered as everywhere."""
        cacheable_page(request, self)
        context = Page.get_context(self, request)
        context.update(self.browse(request, wines))
        context.update(
            taxonomy_kind=kind,
            taxonomy_name=name,
            taxonomy_intro=intro,
            current_title=name,
            hide_filter=hide,
            breadcrumbs=[*ancestors(self), self],
        )
        response = TemplateResponse(request, "products/taxonomy_page.html", context)
        if context["filter_form"].errors:
            response.status_code = 400
        return response

    def get_sitemap_urls(self, request=None):
        urls = super().get_sitemap_urls(request)
        base = self.get_full_url(request)
        live = WinePage.objects.live()
        grapes = GrapeVariety.objects.filter(wines__in=live).distinct()
        for slug in grapes.values_list("slug", flat=True):
            urls.append({"location": f"{base}grapes/{slug}/"})
        for slug in sorted(producers(request)):
            urls.append({"location": f"{base}producers/{slug}/"})
        return urls


def producers(request=None):
    """{slug: name} of the producers of live wines, kept per catalogue version."""

    def find():
        names = WinePage.objects.live().values_list("producer", flat=True).distinct()
        return {slugify(name): name for name in sorted(names) if slugify(name)}

    return pagecache.per_version("producers", request, find)


def taxonomy_urls(request=None):
    """The wines index's URL, under which grape and producer pages live."""

    def find():
        index = WinesIndexPage.objects.live().first()
        return index.url if index is not None else ""

    return pagecache.per_version("wines_index_url", request, find)


class CountryPage(PlacePage):
    parent_page_types = ["products.WinesIndexPage"]
    subpage_types = ["products.RegionPage"]

    class Meta:
        verbose_name = "country page"
        verbose_name_plural = "country pages"

    def regions_to_filter(self, regions):
        return regions.child_of(self)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["regions"] = (
            RegionPage.objects.child_of(self)
            .live()
            .select_related("image")
            .order_by("title")
        )
        return context


class RegionPage(PlacePage):
    parent_page_types = ["products.CountryPage"]
    subpage_types = ["products.WinePage"]

    class Meta:
        verbose_name = "region page"
        verbose_name_plural = "region pages"

    def regions_to_filter(self, regions):
        return [self]


class WinePageQuerySet(PageQuerySet):
    def with_listing_data(self):
        """Annotate what a wine card shows, in the one query that lists the wines.

        Region and country are the wine's ancestors in the page tree: their paths
        are prefixes of the wine's path (Wagtail's materialised path, 4 characters
        a level), so one subquery each finds their titles.
        """
        active = WineVariant.objects.filter(page=OuterRef("pk"), active=True)
        step = Page.steplen

        def ancestor_title(levels_up):
            return Subquery(
                Page.objects.filter(
                    path=Substr(
                        OuterRef("path"), 1, (OuterRef("depth") - levels_up) * step
                    )
                ).values("title")[:1]
            )

        return self.annotate(
            from_price=Subquery(
                active.order_by().values("page").annotate(p=Min("price")).values("p"),
                output_field=models.DecimalField(max_digits=12, decimal_places=2),
            ),
            in_stock=Exists(
                active.annotate(held=held_total()).filter(stock__gt=F("held"))
            ),
            region_title=ancestor_title(1),
            country_title=ancestor_title(2),
        )

    def for_listing(self):
        image_queryset = get_image_model().objects.prefetch_renditions(
            *LISTING_RENDITIONS
        )
        return (
            self.live()
            .with_listing_data()
            .prefetch_related(models.Prefetch("image", queryset=image_queryset))
            .order_by("title")
        )


WinePageManager = PageManager.from_queryset(WinePageQuerySet)


class WinePageForm(WagtailAdminPageForm):
    def clean(self):
        cleaned_data = super().clean()
        if self.data.get("action-publish") and not self._has_active_variant():
            raise ValidationError(
                "A wine can only be published with at least one active variant. "
                "Add a variant (such as a 75 cl bottle) and tick “active”, or save "
                "a draft instead."
            )
        return cleaned_data

    def _has_active_variant(self):
        variants = self.formsets["variants"]
        if not variants.is_valid():
            return True  # The formset shows its own errors.
        return any(
            form.cleaned_data.get("active") and not form.cleaned_data.get("DELETE")
            for form in variants.forms
            if form.cleaned_data
        )


class WinePage(KnownRestrictionsMixin, Page):
    producer = models.CharField(max_length=120)
    vintage = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1800)],
        help_text="Harvest year. Leave blank for a non-vintage wine.",
    )
    colour = models.CharField(
        "colour / style", max_length=20, choices=Colour.choices, default=Colour.RED
    )
    grapes = ParentalManyToManyField(GrapeVariety, blank=True, related_name="wines")
    abv = models.DecimalField(
        "ABV",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("25"))],
        help_text="Alcohol by volume, in percent.",
    )
    tasting_notes = RichTextField(blank=True, features=["bold", "italic", "ul"])
    food_pairing = models.TextField(blank=True)
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The bottle shot, portrait; at least 720 pixels high.",
    )
    body = StreamField(BodyBlock(), blank=True, help_text="The story of the wine.")

    objects = WinePageManager()
    base_form_class = WinePageForm

    search_fields = Page.search_fields + [
        index.SearchField("producer"),
        index.AutocompleteField("producer"),
        index.SearchField("tasting_notes"),
        index.SearchField("region_name"),
        index.SearchField("country_name"),
        index.RelatedFields("grapes", [index.SearchField("name")]),
        # Vintage and colour as words too: "shiraz 2013", "red burgundy"
        index.SearchField("search_keywords"),
        index.FilterField("colour"),
        index.FilterField("vintage"),
    ]

    content_panels = Page.content_panels + [
        FieldRowPanel([FieldPanel("producer"), FieldPanel("vintage")]),
        FieldPanel("image"),
        FieldPanel("tasting_notes"),
        FieldPanel("body"),
    ]
    details_panels = [
        FieldRowPanel([FieldPanel("colour"), FieldPanel("abv")]),
        FieldPanel("grapes", widget=forms.CheckboxSelectMultiple),
        FieldPanel("food_pairing"),
    ]
    variant_panels = [
        InlinePanel(
            "variants",
            label="Variant",
            min_num=1,
            heading="Variants",
            help_text="What shoppers can buy: each size or case with its own SKU, "
            "price and stock.",
        )
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading="Content"),
            ObjectList(details_panels, heading="Details"),
            ObjectList(variant_panels, heading="Variants"),
            ObjectList(Page.promote_panels, heading="Promote"),
            ObjectList(Page.settings_panels, heading="Settings"),
        ]
    )

    parent_page_types = ["products.RegionPage"]
    subpage_types = []

    class Meta:
        verbose_name = "wine page"
        verbose_name_plural = "wine pages"

    def clean(self):
        super().clean()
        if self.vintage and self.vintage > datetime.date.today().year:
            raise ValidationError({"vintage": "A vintage cannot be in the future."})

    @property
    def display_name(self):
        return f"{self.title} {self.vintage}" if self.vintage else f"{self.title} NV"

    def search_keywords(self):
        """What a shopper may type besides the title: vintage (or NV), colour,
        grapes, producer, region and country, as one text to search."""
        return " ".join(
            filter(
                None,
                [
                    str(self.vintage) if self.vintage else "NV non-vintage",
                    self.get_colour_display(),
                    *(grape.name for grape in self.grapes.all()),
                    self.producer,
                    self.region_name(),
                    self.country_name(),
                ],
            )
        )

    def region_name(self):
        parent = self.get_parent()
        return parent.title if parent else ""

    def country_name(self):
        parent = self.get_parent()
        grandparent = parent.get_parent() if parent else None
        return grandparent.title if grandparent else ""

    def get_context(self, request, *args, **kwargs):
        cacheable_page(request, self)
        context = super().get_context(request, *args, **kwargs)
        if getattr(request, "is_preview", False) or self.pk is None:
            variants = self.variants.all()  # as the editor's form has them
        else:  # with what checkouts hold, in the one query
            variants = WineVariant.objects.filter(page=self).with_held()
        variants = [variant for variant in variants if variant.active]
        renditions = self.image.get_renditions(*DETAIL_RENDITIONS) if self.image else {}
        image = renditions.get(DETAIL_RENDITION)
        srcset = ", ".join(
            f"{rendition.url} {rendition.width}w" for rendition in renditions.values()
        )
        grapes = list(self.grapes.all())
        context.update(
            variants=variants,
            default_variant=next((v for v in variants if v.is_available), None),
            image_rendition=image,
            image_srcset=srcset,
            breadcrumbs=ancestors(self),
            structured_data=self.structured_data(request, variants, image),
            grapes=grapes,
            wines_url=taxonomy_urls(request),
            related=self.related_cards(request, grapes) if self.pk else [],
        )
        return context

    def related_cards(self, request, grapes):
        return wine_cards(
            request,
            self.related_wines(grapes),
            lambda pks: WinePage.objects.for_listing().filter(pk__in=pks),
        )

    def related_wines(self, grapes, count=4):
        """The ids of wines to try next: the same producer's first, then the
        region's, then the same grapes', in one query. Their cards come from
        ``wine_cards``, made once per catalogue version: the listing query they
        need (four subqueries, two prefetches) was most of a wine page's render."""
        region_path = self.path[: -self.steplen]
        same_grapes = WinePage.grapes.through.objects.filter(
            grapevariety__in=grapes
        ).values("winepage_id")
        return list(
            WinePage.objects.live()
            .exclude(pk=self.pk)
            .filter(
                models.Q(producer=self.producer)
                | models.Q(path__startswith=region_path)
                | models.Q(pk__in=same_grapes)
            )
            .annotate(
                closeness=models.Case(
                    models.When(producer=self.producer, then=0),
                    models.When(path__startswith=region_path, then=1),
                    default=2,
                )
            )
            .order_by("closeness", "title", "pk")
            .values_list("pk", flat=True)[:count]
        )

    def structured_data(self, request, variants, image=None):
        """schema.org Product with one Offer per variant, for search engines."""
        url = self.get_full_url(request)
        currency = shop_currency().upper()
        data = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": self.display_name,
            "brand": {"@type": "Brand", "name": self.producer},
            "category": self.get_colour_display(),
            "url": url,
            "offers": [
                {
                    "@type": "Offer",
                    "sku": variant.sku,
                    "name": variant.label,
                    "price": str(quantize(variant.price)),
                    "priceCurrency": currency,
                    "availability": "https://schema.org/"
                    + ("InStock" if variant.is_available else "OutOfStock"),
                    "url": url,
                }
                for variant in variants
            ],
        }
        if self.search_description:
            data["description"] = self.search_description
        if image:
            data["image"] = request.build_absolute_uri(image.url)
        return data


def held_total():
    """Each variant's held bottles, as a subquery (0 when none are held)."""
    return Coalesce(
        Subquery(
            StockHold.objects.filter(variant=OuterRef("pk"))
            .order_by()
            .values("variant")
            .annotate(n=Sum("quantity"))
            .values("n"),
            output_field=models.PositiveIntegerField(),
        ),
        0,
    )


class WineVariantQuerySet(models.QuerySet):
    def with_held(self):
        return self.annotate(held_total=held_total())


class HoldsPanel(Panel):
    """On each variant of a wine page in the admin: the checkouts holding it."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "products/admin/variant_holds.html"

        def is_shown(self):
            return bool(self.instance and self.instance.pk)

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["variant"] = self.instance
            context["holds"] = list(self.instance.holds.all())
            return context


class WineVariant(Orderable):
    page = ParentalKey(WinePage, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(
        max_length=60, help_text="What the shopper buys, e.g. “75 cl bottle”."
    )
    sku = models.CharField(
        "SKU",
        max_length=40,
        unique=True,
        error_messages={"unique": "Another variant already uses this SKU."},
        help_text="Unique across the whole shop.",
    )
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[
            MinValueValidator(Decimal("0.01"), message="The price must be above zero.")
        ],
    )
    stock = models.PositiveIntegerField(default=0, help_text="Units ready to ship.")
    active = models.BooleanField(
        default=True, help_text="Untick to stop selling this variant."
    )
    bottles = models.PositiveSmallIntegerField(
        default=1,
        blank=True,  # left empty: one
        validators=[MinValueValidator(1)],
        help_text="Bottles in one unit (a case of 6: 6); shipping may charge per "
        "bottle.",
    )

    panels = [
        FieldRowPanel([FieldPanel("label"), FieldPanel("sku"), FieldPanel("bottles")]),
        FieldRowPanel([FieldPanel("price"), FieldPanel("stock"), FieldPanel("active")]),
        HoldsPanel(),
    ]

    objects = WineVariantQuerySet.as_manager()

    class Meta(Orderable.Meta):
        verbose_name = "wine variant"
        verbose_name_plural = "wine variants"

    def __str__(self):
        return f"{self.page.title} – {self.label} ({self.sku})"

    def save(self, *args, **kwargs):
        if self.bottles is None:
            self.bottles = 1
        super().save(*args, **kwargs)

    @property
    def held(self):
        """Bottles held for checkouts that may still be paid (``StockHold``): read
        with the row by ``WineVariant.objects.with_held()``, else asked here."""
        held = getattr(self, "held_total", None)
        if held is None and self.pk is None:
            return 0
        if held is None:
            held = self.held_total = self.holds.aggregate(n=Sum("quantity"))["n"] or 0
        return held

    @property
    def available(self):
        """What a shopper can still buy: the stock less what checkouts hold."""
        return max(self.stock - self.held, 0)

    @property
    def is_available(self):
        return self.active and self.available > 0

    @property
    def stock_level(self):
        """``out``, ``held`` (all of it in checkouts not paid yet), ``low`` or
        ``in``: what pages show of the stock (the one place the low-stock threshold
        is read)."""
        if not self.active or self.stock <= 0:
            return "out"
        if self.available <= 0:
            return "held"
        return "low" if self.available <= LOW_STOCK_THRESHOLD else "in"

    @property
    def stock_status(self):
        return {
            "out": "Sold out",
            "held": "Reserved in other shoppers’ checkouts",
            "low": f"Only {self.available} left",
            "in": "In stock",
        }[self.stock_level]


class StockHold(models.Model):
    """Bottles set aside for a checkout that may still be paid, so nobody else is
    sent to pay for them (products/stock.py; orders/holds.py places and ends them).
    Not part of the wine page, so publishing a revision never touches them."""

    variant = models.ForeignKey(
        WineVariant, on_delete=models.CASCADE, related_name="holds"
    )
    holder = models.CharField(max_length=64, db_index=True)
    label = models.CharField(max_length=120, help_text="What merchants read.")
    quantity = models.PositiveIntegerField()
    until = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "holder"], name="one_hold_per_variant_and_holder"
            )
        ]
        ordering = ["until"]

    def __str__(self):
        return f"{self.label}: {self.quantity} × {self.variant_id}"
