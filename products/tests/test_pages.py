from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import (
    inline_formset,
    nested_form_data,
    rich_text,
    streamfield,
)

from home.models import HomePage
from products.models import (
    CountryPage,
    RegionPage,
    WinePage,
    WinesIndexPage,
    WineVariant,
)

from . import factories


def wine_form_data(
    title="Domaine Test Cuvée", variants=None, initial_variants=0, **overrides
):
    data = {
        "title": title,
        "slug": "",
        "producer": "Domaine Test",
        "vintage": 2019,
        "colour": "red",
        "abv": "13.5",
        "tasting_notes": rich_text("<p>Black cherry and violets.</p>"),
        "food_pairing": "Lamb",
        "body": streamfield([("paragraph", rich_text("<p>Story</p>"))]),
        "variants": inline_formset(
            variants
            if variants is not None
            else [
                {
                    "label": "75 cl bottle",
                    "sku": "FORM-0001",
                    "price": "24.50",
                    "stock": 10,
                    "active": "on",
                }
            ],
            min=1,
            initial=initial_variants,
        ),
    }
    data.update(overrides)
    return nested_form_data(data)


def place_form_data(page):
    return nested_form_data(
        {
            "title": page.title,
            "slug": page.slug,
            "intro": page.intro,
            "body": streamfield([("heading", "Our favourites")]),
        }
    )


class CataloguePageTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.home = HomePage.objects.get()
        cls.index = WinesIndexPage.objects.get()
        cls.country = CountryPage.objects.get(slug="france")
        cls.region = RegionPage.objects.get(slug="bordeaux")
        cls.wine = WinePage.objects.child_of(cls.region).live().first()

    def setUp(self):
        self.login()

    def test_pages_are_routable_renderable_editable_and_previewable(self):
        wine_data = wine_form_data(
            title=self.wine.title,
            slug=self.wine.slug,
            variants=[
                {
                    "id": v.pk,
                    "label": v.label,
                    "sku": v.sku,
                    "price": v.price,
                    "stock": v.stock,
                    "active": "on",
                }
                for v in self.wine.variants.all()
            ],
            initial_variants=self.wine.variants.count(),
        )
        for page, data in (
            (self.index, place_form_data(self.index)),
            (self.country, place_form_data(self.country)),
            (self.region, place_form_data(self.region)),
            (self.wine, wine_data),
        ):
            with self.subTest(page=page.specific_class.__name__):
                self.assertPageIsRoutable(page)
                self.assertPageIsRenderable(page)
                self.assertPageIsEditable(page, post_data=data)
                self.assertPageIsPreviewable(page, post_data=data)

    def test_urls_follow_the_tree(self):
        self.assertEqual(self.index.url, "/wines/")
        self.assertEqual(self.country.url, "/wines/france/")
        self.assertEqual(self.region.url, "/wines/france/bordeaux/")
        self.assertEqual(self.wine.url, f"/wines/france/bordeaux/{self.wine.slug}/")

    def test_tree_rules(self):
        self.assertAllowedParentPageTypes(WinesIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(WinesIndexPage, {CountryPage})
        self.assertAllowedParentPageTypes(CountryPage, {WinesIndexPage})
        self.assertAllowedSubpageTypes(CountryPage, {RegionPage})
        self.assertAllowedParentPageTypes(RegionPage, {CountryPage})
        self.assertAllowedSubpageTypes(RegionPage, {WinePage})
        self.assertAllowedParentPageTypes(WinePage, {RegionPage})
        self.assertAllowedSubpageTypes(WinePage, set())
        self.assertCanNotCreateAt(HomePage, WinePage)
        self.assertCanNotCreateAt(CountryPage, WinePage)
        self.assertCanNotCreateAt(Page, CountryPage)

    def test_country_and_region_created_through_the_admin(self):
        place = nested_form_data(
            {
                "title": "Austria",
                "slug": "austria",
                "intro": "Grüner and more.",
                "body": streamfield([("heading", "Danube")]),
            }
        )
        self.assertCanCreate(self.index, CountryPage, place)
        austria = CountryPage.objects.get(slug="austria")
        self.assertTrue(austria.live)
        region = nested_form_data(
            {"title": "Wachau", "slug": "wachau", "intro": "", "body": streamfield([])}
        )
        self.assertCanCreate(austria, RegionPage, region)
        self.assertEqual(
            RegionPage.objects.child_of(austria).get().url, "/wines/austria/wachau/"
        )

    def test_wine_created_through_the_admin_with_its_variants(self):
        data = wine_form_data(
            variants=[
                {
                    "label": "75 cl bottle",
                    "sku": "FORM-0001",
                    "price": "24.50",
                    "stock": 10,
                    "active": "on",
                },
                {
                    "label": "Case of 6",
                    "sku": "FORM-0002",
                    "price": "132.00",
                    "stock": 2,
                    "active": "on",
                },
            ],
            slug="domaine-test-cuvee-2019",
        )
        self.assertCanCreate(self.region, WinePage, data)
        wine = WinePage.objects.get(slug="domaine-test-cuvee-2019")
        self.assertTrue(wine.live)
        self.assertEqual(
            [(v.label, v.sku, str(v.price), v.stock) for v in wine.variants.all()],
            [
                ("75 cl bottle", "FORM-0001", "24.50", 10),
                ("Case of 6", "FORM-0002", "132.00", 2),
            ],
        )


class WineValidationTests(WagtailPageTestCase):
    """The editor is told, in words, what blocks a save or a publish."""

    @classmethod
    def setUpTestData(cls):
        cls.region = RegionPage.objects.get(slug="burgundy")

    def setUp(self):
        self.login()

    def post_new_wine(self, data, publish=True):
        if publish:
            data["action-publish"] = "action-publish"
        return self.client.post(
            f"/admin/pages/add/products/winepage/{self.region.pk}/", data
        )

    def form_errors(self, response):
        form = response.context["form"]
        errors = list(form.non_field_errors())
        for formset in form.formsets.values():
            for item in formset.forms:
                for messages in item.errors.values():
                    errors.extend(messages)
        return errors

    def test_cannot_publish_without_an_active_variant(self):
        data = wine_form_data(
            variants=[
                {
                    "label": "75 cl bottle",
                    "sku": "FORM-0100",
                    "price": "20.00",
                    "stock": 5,
                }
            ],
            slug="inactive-only",
        )
        response = self.post_new_wine(data)
        self.assertEqual(response.status_code, 200)
        self.assertIn(
            "A wine can only be published with at least one active variant. Add a "
            "variant (such as a 75 cl bottle) and tick “active”, or save a draft "
            "instead.",
            self.form_errors(response),
        )
        self.assertFalse(WinePage.objects.filter(slug="inactive-only").exists())

    def test_a_draft_may_be_saved_without_an_active_variant(self):
        data = wine_form_data(
            variants=[
                {
                    "label": "75 cl bottle",
                    "sku": "FORM-0101",
                    "price": "20.00",
                    "stock": 5,
                }
            ],
            slug="draft-wine",
        )
        response = self.post_new_wine(data, publish=False)
        self.assertEqual(response.status_code, 302)
        wine = WinePage.objects.get(slug="draft-wine")
        self.assertFalse(wine.live)

    def test_price_must_be_above_zero(self):
        data = wine_form_data(
            variants=[
                {
                    "label": "75 cl bottle",
                    "sku": "FORM-0102",
                    "price": "0.00",
                    "stock": 5,
                    "active": "on",
                }
            ],
            slug="free-wine",
        )
        response = self.post_new_wine(data)
        self.assertIn("The price must be above zero.", self.form_errors(response))
        self.assertFalse(WinePage.objects.filter(slug="free-wine").exists())

    def test_sku_must_be_unique_across_all_wines(self):
        taken = WineVariant.objects.order_by("pk").first().sku
        data = wine_form_data(
            variants=[
                {
                    "label": "75 cl bottle",
                    "sku": taken,
                    "price": "12.00",
                    "stock": 5,
                    "active": "on",
                }
            ],
            slug="copycat",
        )
        response = self.post_new_wine(data)
        self.assertIn(
            "Another variant already uses this SKU.", self.form_errors(response)
        )
        self.assertFalse(WinePage.objects.filter(slug="copycat").exists())

    def test_vintage_cannot_be_in_the_future(self):
        data = wine_form_data(slug="future", vintage=2999)
        response = self.post_new_wine(data)
        self.assertEqual(
            response.context["form"].errors["vintage"],
            ["A vintage cannot be in the future."],
        )


def test_stock_status_words():
    assert factories.variant("10", stock=0).stock_status == "Sold out"
    assert factories.variant("10", stock=3).stock_status == "Only 3 left"
    assert factories.variant("10", stock=5).stock_status == "Only 5 left"
    assert factories.variant("10", stock=6).stock_status == "In stock"
    assert factories.variant("10", stock=50, active=False).stock_status == "Sold out"
