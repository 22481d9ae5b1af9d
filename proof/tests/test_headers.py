"""Security headers: production passes Django's deploy checks, every response carries
a Content-Security-Policy, and the shop and the Wagtail admin work under it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.models import User as DjangoUser
from playwright.sync_api import expect

from cart.tests.test_browser import in_stock_variants

BASE_DIR = Path(__file__).resolve().parents[2]
STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; "
    "form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
RELAXED = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; "
    "form-action 'self' https://checkout.stripe.com; frame-ancestors 'self'; "
    "base-uri 'self'; object-src 'none'; frame-src 'self'"
)
DEPLOY_CHECK = """
import json, django
from django.conf import settings
from django.core.management import call_command
django.setup()
call_command("check", deploy=True, fail_level="WARNING")
print(json.dumps({name: getattr(settings, name) for name in (
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS", "CONTENT_SECURITY_POLICY_RELAXED_PATHS",
)}))
"""


def test_production_settings_pass_check_deploy_with_no_warnings():
    # Given production settings with only what they require, and no collected files
    env = {
        key: value
        for key, value in os.environ.items()
        # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE is no deployment's (and the
        # deploy check warns about it).
        if not key.startswith(
            ("SECURE_", "DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_ALLOW_ASYNC")
        )
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cellar.settings.production",
        SECRET_KEY="k7#Qp2!vX9z@Lm4$Rt8^Wn3&Yb6*Hc1(Jd5)Fg0-Ks9+Pa2=Ue7",
        STRIPE_SECRET_KEY="sk_test_deploy_check",
        STRIPE_WEBHOOK_SECRET="whsec_deploy_check",
    )

    # When Django's deployment checks run, failing on any warning
    result = subprocess.run(
        [sys.executable, "-c", DEPLOY_CHECK],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then there is nothing to report, and the cookies are Secure and HttpOnly
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "CONTENT_SECURITY_POLICY_RELAXED_PATHS": ["/admin/"],
    }


def assert_security_headers(response, policy):
    assert response["Content-Security-Policy"] == policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_every_kind_of_response_carries_the_headers(client, wines, staff_client):
    wine = wines["red"].page
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    shop = {
        "/": 200,
        wine.url: 200,
        "/search/?q=red": 200,
        "/cart/": 200,
        "/cart/api/": 200,
        "/checkout/": 200,
        "/orders/nope/": 404,
        "/no-such-page/": 404,
    }
    for url, status in shop.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert_security_headers(response, STRICT)
    assert_security_headers(client.post("/cart/add/", {"variant": "x"}), STRICT)

    editor = staff_client("Editors")
    for url in ("/admin/", f"/admin/pages/{wine.pk}/edit/"):
        response = editor.get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == RELAXED


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_http_only(client, wines):
    client.post("/cart/add/", {"variant": wines["red"].pk, "quantity": 1})
    page = client.get("/checkout/")

    assert client.cookies["sessionid"]["httponly"] is True
    assert client.cookies["sessionid"]["samesite"] == "Lax"
    assert page.cookies["csrftoken"]["httponly"] is True
    assert page.cookies["csrftoken"]["samesite"] == "Lax"


# In the browser: the policy is enforced, and nothing the shop or admin needs breaks.


def watch_csp(page):
    """Chromium reports every CSP refusal on the console."""
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return refused


@pytest.mark.browser
def test_the_shop_works_under_its_policy_and_refuses_inline_script(
    page, shop_server, db_reads, screenshots
):
    refused = watch_csp(page)
    first, second = in_stock_variants(2)

    # A shopper browses, searches and adds with the shop's own script
    page.goto(shop_server.url + "/")
    page.goto(shop_server.url + "/wines/")
    page.goto(shop_server.url + "/search/?q=" + first.page.title.split()[0])
    page.goto(shop_server.url + first.page.url)
    assert page.locator('script[type="application/ld+json"]').count() == 1
    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Add to cart").click()
    page.locator("[data-add-to-cart-status]").filter(has_text="Added").wait_for()
    assert page.evaluate("window.__noReload") is True
    page.goto(shop_server.url + "/cart/")
    page.goto(shop_server.url + "/checkout/")
    page.screenshot(path=screenshots / "csp-shop-checkout.png", full_page=True)
    assert refused == []

    # An injected inline script is refused and never runs
    with pytest.raises(Exception, match="Content Security Policy|CSP|Refused"):
        page.add_script_tag(content="window.__injected = true")
    assert page.evaluate("window.__injected === undefined") is True
    assert len(refused) == 1
    assert "script-src 'self'" in refused[0]


@pytest.fixture
def admin_users(db_reads):
    """An editor and a merchant, committed for the live server, removed afterwards."""
    users = {}
    for group in ("Editors", "Merchants"):
        user = DjangoUser.objects.create_user(
            f"csp-{group.lower()}", password="pw-csp-12345"
        )
        user.groups.add(Group.objects.get(name=group))
        users[group] = user
    yield users
    DjangoUser.objects.filter(pk__in=[u.pk for u in users.values()]).delete()


def visit(page, url):
    response = page.goto(url)
    assert response.status == 200, url


def sign_in(page, shop_server, username):
    page.goto(shop_server.url + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-csp-12345")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(shop_server.url + "/admin/")


@pytest.mark.browser
def test_the_wagtail_admin_works_under_its_policy(
    browser, shop_server, admin_users, screenshots
):
    [wine] = in_stock_variants(1)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused = watch_csp(page)
    try:
        # An editor edits a wine: the variants' InlinePanel runs its inline script
        sign_in(page, shop_server, "csp-editors")
        visit(page, shop_server.url + f"/admin/pages/{wine.page_id}/edit/")
        # the preview beside the form renders the page in the admin's frame
        page.get_by_role("button", name="Toggle preview").click()
        preview = page.frame_locator("#w-preview-iframe")
        preview.get_by_role("heading", name=wine.page.title).first.wait_for()
        page.screenshot(path=screenshots / "csp-admin-preview.png")
        page.get_by_role("tab", name="Variants").click()
        forms = page.locator("[data-inline-panel-child]:visible")
        before = forms.count()
        page.get_by_role("button", name="Add variant").first.click()
        expect(forms).to_have_count(before + 1)
        page.screenshot(path=screenshots / "csp-admin-variants.png", full_page=True)
        visit(page, shop_server.url + "/admin/images/")
        visit(page, shop_server.url + "/admin/pages/")
        # The shop's page seen by a signed-in editor carries Wagtail's userbar
        visit(page, shop_server.url + wine.page.url)
        page.locator("wagtail-userbar").wait_for(state="attached")
        context.clear_cookies()

        # A merchant reads orders and coupons
        sign_in(page, shop_server, "csp-merchants")
        visit(page, shop_server.url + "/admin/orders/")
        visit(page, shop_server.url + "/admin/coupons/")
        page.screenshot(path=screenshots / "csp-admin-coupons.png", full_page=True)
    finally:
        context.close()

    assert refused == []
