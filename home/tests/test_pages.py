from wagtail.models import Page, Site
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from home.models import HomePage, StandardPage
from products.models import WinesIndexPage


class HomeAndStandardPageTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.home = HomePage.objects.get()
        cls.about = StandardPage.objects.get(slug="about")

    def setUp(self):
        self.login()

    def test_home_is_the_site_root(self):
        self.assertEqual(
            Site.objects.get(is_default_site=True).root_page_id, self.home.pk
        )
        self.assertEqual(self.home.url, "/")
        self.assertEqual(self.about.url, "/about/")

    def test_routable_renderable_editable_previewable(self):
        home_data = nested_form_data(
            {
                "title": self.home.title,
                "slug": self.home.slug,
                "hero_heading": "Hello",
                "hero_text": "",
                "body": streamfield([("heading", "News")]),
            }
        )
        about_data = nested_form_data(
            {
                "title": "About us",
                "slug": "about",
                "intro": "Who we are",
                "body": streamfield([("paragraph", rich_text("<p>Us</p>"))]),
            }
        )
        for page, data in ((self.home, home_data), (self.about, about_data)):
            with self.subTest(page=type(page).__name__):
                self.assertPageIsRoutable(page)
                self.assertPageIsRenderable(page)
                self.assertPageIsEditable(page, post_data=data)
                self.assertPageIsPreviewable(page, post_data=data)

    def test_tree_rules(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertAllowedSubpageTypes(HomePage, {WinesIndexPage, StandardPage})
        self.assertAllowedParentPageTypes(StandardPage, {HomePage, StandardPage})
        self.assertAllowedSubpageTypes(StandardPage, {StandardPage})
        # max_count = 1: with one home page in place, no second one can be added.
        self.assertFalse(HomePage.can_create_at(Page.get_first_root_node()))

    def test_standard_page_created_through_the_admin(self):
        data = nested_form_data(
            {
                "title": "Privacy",
                "slug": "privacy",
                "intro": "What we keep and why.",
                "body": streamfield([("heading", "Cookies")]),
            }
        )
        self.assertCanCreate(self.home, StandardPage, data)
        page = StandardPage.objects.get(slug="privacy")
        self.assertEqual(page.url, "/privacy/")
        response = self.client.get("/privacy/")
        self.assertContains(response, "<h2>Cookies</h2>", html=True)
