"""The demo catalogue: a shop that looks real, built the same way every time.

Everything is looked up by a natural key (slug under its parent, SKU, image title,
group name) and only created when missing, so running it twice changes nothing.
"""

import datetime
import io
import os
import random
import secrets
import zlib
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.images import ImageFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from wagtail.images import get_image_model
from wagtail.models import (
    Page,
    Site,
)
from wagtail.search import index

from coupons.models import Coupon
from home.models import HomePage, ShopSettings, StandardPage
from products.models import (
    Colour,
    CountryPage,
    GrapeVariety,
    RegionPage,
    WinePage,
    WinesIndexPage,
    WineVariant,
)
from shipping.models import ShippingZone, TaxRate

from . import images as demo_images
from .catalogue import COUNTRIES, GRAPES, STYLES

# (zone, countries, states, [(method, price, per bottle, free from, (days))])
SHIPPING = [
    (
        "United States",
        ["US"],
        "",
        [
            ("Ground", "12.00", "1.00", "150", (3, 6)),
            ("Express", "29.00", "2.00", None, (1, 2)),
        ],
    ),
    (
        "Alaska and Hawaii",
        ["US"],
        "AK, HI",
        [("Air", "45.00", "3.00", None, (4, 7))],
    ),
    (
        "Canada",
        ["CA"],
        "",
        [("Standard", "25.00", "2.00", "250", (5, 8))],
    ),
    (
        "Europe",
        ["GB", "FR", "DE", "IT", "ES"],
        "",
        [
            ("International courier", "35.00", "3.00", "300", (5, 9)),
            ("Express courier", "60.00", "4.00", None, (2, 4)),
        ],
    ),
]
# (country, state, name, rate %, also on shipping); Oregon and the other states
# without a rate here charge no sales tax.
TAX_RATES = [
    ("US", "CA", "Sales tax", "7.25", False),
    ("US", "NY", "Sales tax", "8.875", True),
    ("US", "WA", "Sales tax", "6.5", True),
    ("US", "TX", "Sales tax", "6.25", True),
    ("US", "IL", "Sales tax", "6.25", False),
    ("CA", "", "GST", "5", True),
    ("CA", "ON", "HST", "13", True),
    ("GB", "", "VAT", "20", True),
    ("FR", "", "TVA", "20", True),
    ("DE", "", "MwSt", "19", True),
    ("IT", "", "IVA", "22", True),
    ("ES", "", "IVA", "21", True),
]

ADMIN_USERNAME = "admin"
# (username, group or None for a superuser, first name)
DEMO_USERS = [
    (ADMIN_USERNAME, None, "Shop"),
    ("editor", "Editors", "Edith"),
    ("merchant", "Merchants", "Marco"),
]

COUNTRY_PALETTES = [
    ((122, 160, 206), (244, 214, 170), (112, 138, 66)),
    ((98, 140, 190), (250, 200, 150), (132, 120, 60)),
    ((160, 120, 170), (250, 190, 140), (96, 110, 58)),
    ((90, 150, 200), (220, 230, 200), (80, 120, 70)),
]


class DemoBuilder:
    def __init__(self, wines=60, log=None):
        self.wine_count = wines
        self.log = log or (lambda message: None)
        self.created = {"pages": 0, "variants": 0, "images": 0}
        self.images = {}

    def build(self):
        with transaction.atomic():
            home = self.home_page()
            self.standard_pages(home)
            grapes = self.grapes()
            index = self.wines_index(home)
            regions = self.places(index)
        self.wines(regions, grapes)
        with transaction.atomic():
            self.coupons()
            self.shop_settings()
            self.shipping()
            logins = self.users()
        return logins

    # Images -------------------------------------------------------------------

    def image(self, title, render):
        Image = get_image_model()
        image = self.images.get(title) or Image.objects.filter(title=title).first()
        if image is None:
            image = Image(title=title)
            image.file = ImageFile(io.BytesIO(render()), name=f"{slugify(title)}.png")
            image.save()
            self.created["images"] += 1
        self.images[title] = image
        return image

    # Pages --------------------------------------------------------------------

    def child(self, parent, model, slug, **fields):
        page = model.objects.child_of(parent).filter(slug=slug).first()
        if page is None:
            now = timezone.now()
            page = model(
                slug=slug, live=True, first_published_at=now, last_published_at=now
            )
            for name, value in fields.items():
                setattr(page, name, value)
            parent.add_child(instance=page)
            self.created["pages"] += 1
        return page

    def home_page(self):
        root = Page.get_first_root_node()
        home = HomePage.objects.first()
        if home is None:
            # Wagtail's first migration leaves a placeholder "Welcome" page at /home.
            Page.objects.filter(depth=2, slug="home", numchild=0).exclude(
                content_type__model="homepage"
            ).delete()
            root.refresh_from_db()
            home = HomePage(
                title="Cellar",
                slug="home",
                hero_heading="Wines worth opening tonight",
                hero_text="Small growers and great regions, chosen by people who "
                "taste everything first. Delivered in days.",
                hero_image=self.image(
                    "Hero: vineyard at dusk",
                    lambda: demo_images.landscape(0, COUNTRY_PALETTES[2]),
                ),
                live=True,
            )
            root.add_child(instance=home)
            self.created["pages"] += 1
        site = Site.objects.filter(is_default_site=True).first() or Site(
            is_default_site=True, site_name="Cellar"
        )
        # Absolute URLs (sitemap, JSON-LD, emails' links) come from the Site: it
        # follows SITE_URL, so each one opens on the server this command serves.
        address = urlsplit(settings.SITE_URL)
        wanted = {
            "root_page_id": home.pk,
            "hostname": address.hostname or "localhost",
            "port": address.port or (443 if address.scheme == "https" else 80),
        }
        if any(getattr(site, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(site, field, value)
            site.save()
        self.log("Home page and site ready")
        return home

    def standard_pages(self, home):
        for slug, title, intro in [
            (
                "about",
                "About us",
                "Cellar is a small team of tasters who buy from growers we visit.",
            ),
            (
                "delivery",
                "Delivery",
                "We ship in temperature-safe boxes, insured to your door.",
            ),
            (
                "terms",
                "Terms and conditions",
                "We sell alcohol only to adults of legal drinking age in the "
                "country of delivery. Tax is added at checkout where your address "
                "has a rate.",
            ),
        ]:
            self.child(
                home,
                StandardPage,
                slug,
                title=title,
                intro=intro,
                show_delivery_rates=slug == "delivery",
            )

    def grapes(self):
        grapes = {}
        for name, (_skin, description) in GRAPES.items():
            grapes[name], _ = GrapeVariety.objects.get_or_create(
                name=name, defaults={"description": description}
            )
        self.log(f"Grape varieties: {len(grapes)}")
        return grapes

    def wines_index(self, home):
        return self.child(
            home,
            WinesIndexPage,
            "wines",
            title="Wines",
            intro="Every bottle we sell, by country and region. Filter by colour, "
            "grape or price.",
        )

    def places(self, index):
        regions = []
        for number, (country_name, (intro, country_regions)) in enumerate(
            COUNTRIES.items()
        ):
            palette = COUNTRY_PALETTES[number % len(COUNTRY_PALETTES)]
            country = self.child(
                index,
                CountryPage,
                slugify(country_name),
                title=country_name,
                intro=intro,
                image=self.image(
                    f"Landscape: {country_name}",
                    lambda p=palette, s=number: demo_images.landscape(s, p),
                ),
            )
            for offset, region in enumerate(country_regions):
                page = self.child(
                    country,
                    RegionPage,
                    slugify(region.name),
                    title=region.name,
                    intro=region.intro,
                    image=self.image(
                        f"Landscape: {region.name}",
                        lambda p=palette, s=number * 10 + offset + 1: (
                            demo_images.landscape(s, p)
                        ),
                    ),
                )
                regions.append((page, region))
        self.log(f"Countries: {len(COUNTRIES)}, regions: {len(regions)}")
        return regions

    def wines(self, regions, grapes):
        """The catalogue's wines, region by region in turn: each region's
        producers make each of its cuvées, then the next vintages of them. No two
        wines share a name and a vintage; a non-vintage cuvée is made once per
        producer (a bench catalogue past that numbers its lots)."""
        this_year = datetime.date.today().year
        for number in range(self.wine_count):
            region_page, region = regions[number % len(regions)]
            turn = number // len(regions)
            combos = [
                (cuvee, producer)
                for cuvee in region.cuvees
                for producer in region.producers
            ]
            # Neighbouring wines of a region differ in cuvée and in producer
            cuvee, producer = combos[(turn * 5) % len(combos)]
            round_ = turn // len(combos)
            rng = random.Random(f"cellar-demo-{number}")
            title = f"{producer} {cuvee.name}"
            if cuvee.vintage:
                # Each round an older vintage of the wine, from a year of its own
                young, old = cuvee.age
                span = old - young + 1
                start = zlib.crc32(title.encode()) % span
                age = young + (start + round_) % span + span * (round_ // span)
                vintage = this_year - age
            else:
                vintage = None
                if round_:
                    title = f"{title} Lot {round_ + 1}"
            slug = slugify(f"{title} {vintage or 'nv'}")
            # Made before, by this builder or an older one (its SKU is taken)
            if (
                WinePage.objects.child_of(region_page).filter(slug=slug).exists()
                or WineVariant.objects.filter(
                    sku=f"{region.code}-{number:04d}-75"
                ).exists()
            ):
                continue
            low, high = cuvee.price
            base_price = Decimal(rng.randrange(low, high + 1)) - Decimal("0.01")
            sold_out = number % 9 == 4
            variants = [
                WineVariant(
                    label="75 cl bottle",
                    sku=f"{region.code}-{number:04d}-75",
                    price=base_price,
                    stock=0 if sold_out else rng.choice([2, 4, 12, 24, 36, 60]),
                    sort_order=0,
                )
            ]
            if rng.random() < 0.45:
                variants.append(
                    WineVariant(
                        label="Magnum 150 cl",
                        bottles=2,
                        sku=f"{region.code}-{number:04d}-150",
                        price=base_price * 2 + Decimal("6"),
                        stock=0 if sold_out else rng.choice([0, 1, 3, 6]),
                        sort_order=1,
                    )
                )
            if rng.random() < 0.5:
                variants.append(
                    WineVariant(
                        label="Case of 6",
                        bottles=6,
                        sku=f"{region.code}-{number:04d}-C6",
                        # A tenth off six bottles
                        price=(base_price * 6 * Decimal("0.9")).quantize(Decimal("1"))
                        - Decimal("0.01"),
                        stock=0 if sold_out else rng.choice([3, 5, 10]),
                        sort_order=len(variants),
                    )
                )
            low_abv, high_abv = cuvee.abv
            steps = round((high_abv - low_abv) * 2)
            abv = Decimal(str(low_abv + rng.randint(0, steps) / 2))
            notes, food = STYLES[cuvee.style]
            # Past the 120th wine (benchmark catalogues), bottles are shared.
            image = self.image(
                f"Bottle: {title} {vintage or 'NV'}"
                if number < 120
                else f"Bottle: {region.name}, {cuvee.style}",
                lambda p=producer, c=cuvee, v=vintage, s=number: demo_images.bottle(
                    s, c.colour, p, c.name, v, c.style
                ),
            )
            page = WinePage(
                title=title,
                slug=slug,
                producer=producer,
                vintage=vintage,
                colour=cuvee.colour,
                abv=abv,
                tasting_notes=f"<p>{notes}</p>",
                food_pairing=food,
                image=image,
                search_description=(
                    f"{title} {vintage or 'NV'}: {Colour(cuvee.colour).label.lower()} "
                    f"wine from {region.name}."
                ),
                live=True,
                first_published_at=timezone.now(),
                last_published_at=timezone.now(),
            )
            page.variants = variants
            page.grapes = [grapes[name] for name in cuvee.grapes]
            with transaction.atomic():
                region_page.add_child(instance=page)
                region_page.refresh_from_db()
                # Grapes are saved after the page's own row, and so after its first
                # indexing: index again so a search for a grape finds the wine.
                index.insert_or_update_object(page)
            self.created["pages"] += 1
            self.created["variants"] += len(variants)
            if (number + 1) % 10 == 0 or number + 1 == self.wine_count:
                self.log(f"Wines: {number + 1}/{self.wine_count}")

    # Settings, groups, users --------------------------------------------------

    def coupons(self):
        for code, description, kind, value, minimum in [
            ("WELCOME10", "10% off your first order", "percent", "10", None),
            ("CELLAR5", "$5 off orders over $40", "fixed", "5", "40"),
        ]:
            Coupon.objects.get_or_create(
                code=code,
                defaults={
                    "description": description,
                    "kind": kind,
                    "value": Decimal(value),
                    "minimum_subtotal": Decimal(minimum) if minimum else None,
                },
            )
        self.log("Coupons: WELCOME10, CELLAR5")

    def shop_settings(self):
        settings = ShopSettings.load()
        if not settings.legal_name:
            settings.shop_name = "Cellar"
            settings.legal_name = "Cellar Wine Merchants Ltd"
            settings.address = "12 Vintners' Row\nPortland, OR 97205\nUnited States"
            settings.tax_id = "US 94-1234567"
            settings.contact_email = "hello@cellar.test"
            settings.currency_symbol = "$"
            settings.delivery_countries = ["US", "CA", "GB", "FR", "DE", "IT", "ES"]
            settings.logo = self.image(
                "Cellar logo", lambda: demo_images.logo("Cellar")
            )
            settings.save()
        self.log("Shop settings filled")

    def shipping(self):
        """Zones, methods and tax rates for the seven countries the shop delivers
        to, each set once (a merchant's changes stay)."""
        if not ShippingZone.objects.exists():
            for zone_name, countries, states, methods in SHIPPING:
                zone = ShippingZone.objects.create(
                    name=zone_name, countries=countries, states=states
                )
                for order, (name, price, per_bottle, free, days) in enumerate(methods):
                    zone.methods.create(
                        name=name,
                        price=Decimal(price),
                        per_bottle=Decimal(per_bottle),
                        free_above=Decimal(free) if free else None,
                        min_days=days[0],
                        max_days=days[1],
                        sort_order=order,
                    )
        if not TaxRate.objects.exists():
            for country, state, name, rate, on_shipping in TAX_RATES:
                TaxRate.objects.create(
                    country=country,
                    state=state,
                    name=name,
                    rate=Decimal(rate),
                    applies_to_shipping=on_shipping,
                )
        self.log(f"Shipping: {len(SHIPPING)} zones, {len(TAX_RATES)} tax rates")

    def users(self):
        """The admin and one demo user per group, created once.

        Returns {username: password} for the accounts made now (a password is shown
        once; existing accounts keep theirs).
        """
        User = get_user_model()
        made = {}
        for username, group, first_name in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
            email = f"{username}@cellar.test"
            if group is None:
                User.objects.create_superuser(
                    username, email, password, first_name=first_name
                )
            else:
                user = User.objects.create_user(
                    username, email, password, first_name=first_name
                )
                # The groups come from a migration (home/migrations/0002_groups.py).
                user.groups.add(Group.objects.get(name=group))
            made[username] = password
        return made
