import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import mark_safe

from home.models import ShopSettings
from products.models import CountryPage
from products.pricing import format_money

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, amount):
    """Format a shop amount with the currency symbol from ShopSettings."""
    if amount is None:
        return ""
    request = context.get("request")
    symbol = ShopSettings.load(request_or_site=request).currency_symbol if request else ""
    return format_money(amount, symbol=symbol)


@register.inclusion_tag("includes/country_nav.html", takes_context=True)
def country_nav(context):
    countries = CountryPage.objects.live().order_by("title").only(
        "id", "title", "url_path", "path", "depth"
    )
    return {"countries": countries, "request": context.get("request")}


_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def json_ld(data):
    """Serialise data for a <script type="application/ld+json"> element."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return mark_safe(text.translate(_JSON_SCRIPT_ESCAPES))
