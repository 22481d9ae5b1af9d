import re

from django.conf import settings
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView, TemplateView
from django.views.static import serve
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from core import health
from home import views as home_views

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("cart/", include("cart.urls")),
    path("checkout/", include("checkout.urls")),
    path("orders/", include("checkout.order_urls")),
    # Shoppers' accounts: allauth's flows, and My account beside them
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("search/", home_views.search, name="search"),
    path("healthz", health.healthz, name="healthz"),
    path("sitemap.xml", sitemap, name="sitemap"),
    path(
        "favicon.ico",
        # Lazy: the manifest of collected files is read at the first request, not
        # when the URLconf loads (manage.py check and migrate run before collectstatic).
        RedirectView.as_view(url=lazy(static, str)("img/favicon.svg"), permanent=True),
    ),
    path(
        "robots.txt",
        TemplateView.as_view(template_name="robots.txt", content_type="text/plain"),
        name="robots",
    ),
]

if settings.STRIPE_EMULATOR:
    urlpatterns += [path("_stripe/", include("stripe_emulator.urls"))]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

urlpatterns += [path("", include(wagtail_urls))]
