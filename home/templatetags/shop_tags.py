import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import NoReverseMatch
from django.utils.safestring import mark_safe
from wagtail.models import Page

import pagecache
from core.money import format_money, quantize
from core.urls import fixed_url
from home.models import shop_settings
from products.models import CountryPage
from shipping import addresses

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, amount):
    """Format a shop amount with the currency symbol from ShopSettings."""
    if amount is None:
        return ""
    request = context.get("request")
    symbol = shop_settings(request).currency_symbol if request else ""
    return format_money(amount, symbol=symbol)


@register.simple_tag(name="fixed_url")
def fixed_url_tag(name):
    """``{% url name %}`` for a URL without arguments, reversed once per process
    (core/urls.py); empty if there is no such URL, as ``{% url … as … %}`` is."""
    try:
        return fixed_url(name)
    except NoReverseMatch:
        return ""


SITE_LINK_SLUGS = ("wines", "about", "delivery", "terms")


@register.simple_tag(takes_context=True)
def site_links(context):
    """URLs of the pages every header and footer links to, in one query a request.

    Looked up by slug so an editor can move or retitle the pages.
    """
    request = context.get("request")
    links = getattr(request, "_site_links", None)
    if links is None:

        def find():
            pages = Page.objects.live().filter(slug__in=SITE_LINK_SLUGS, depth=3)
            return {page.slug: page.get_url(request) for page in pages}

        links = pagecache.per_version("site_links", request, find)
        if request is not None:
            request._site_links = links
    return links


@register.inclusion_tag("includes/country_nav.html", takes_context=True)
def country_nav(context):
    request = context.get("request")

    def find():
        countries = (
            CountryPage.objects.live()
            .order_by("title")
            .only("id", "title", "url_path", "path", "depth")
        )
        return [(country.get_url(request), country.title) for country in countries]

    return {
        "countries": pagecache.per_version("country_nav", request, find),
        "links": site_links(context),
    }


_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def json_ld(data):
    """Serialise data for a <script type="application/ld+json"> element."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return mark_safe(text.translate(_JSON_SCRIPT_ESCAPES))


@register.filter
def place_name(where):
    """A destination (``{"country": "US", "state": "NY"}``) by name."""
    return addresses.place_name(where["country"], where.get("state", ""))


@register.filter
def address_lines(order):
    """An order's delivery address as its country writes it, one line each (the
    country itself not included)."""
    return addresses.lines(
        country=order.country.code,
        name=order.name,
        street="\n".join(filter(None, [order.address_line1, order.address_line2])),
        city=order.city,
        state=order.state,
        postal_code=order.postal_code,
    )


@register.simple_tag(takes_context=True)
def bottle_offer(context, variant, variants):
    """For a case (several bottles for less): what a bottle of it costs, and what
    it saves against the wine's single bottle ("$34.20 a bottle, save 10%");
    "" for a single bottle, or a magnum that saves nothing."""
    bottles = variant.bottles or 1
    if bottles <= 1:
        return ""
    single = next((v for v in variants if (v.bottles or 1) == 1), None)
    each = quantize(variant.price / bottles)
    if single is None or each >= single.price:
        return ""
    saving = round((single.price - each) * 100 / single.price)
    return f"{money(context, each)} a bottle, save {saving}%"
