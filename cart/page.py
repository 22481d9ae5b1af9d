"""The cart page, from parts the same for every shopper while the catalogue stands
still, each made once per catalogue version (pagecache's stencils): the shop's page
around it (home/frame.py), each wine's line, the delivery form. A request fills in
its own quantities, totals, CSRF token and messages, and renders only the summary.
"""

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from core.money import format_money
from home.frame import framed
from home.models import shop_settings
from pagecache import stencils
from pagecache.csrf import get_token

from .forms import DestinationForm
from .services import chosen_destination

TITLE = "Your cart"


def render_cart_page(request, cart, rows, errors, estimate, destination_form=None):
    """The page's HTML: ``rows`` are (line, thumbnail) pairs; ``destination_form``
    a delivery form that was sent (its errors shown), else the shopper's chosen
    destination is shown."""
    token = get_token(request)
    content = render_to_string(
        "cart/cart.html",
        {
            "cart": cart,
            "lines": [line for line, _ in rows],
            "rows_html": _rows(request, rows, token),
            "errors": errors,
            "estimate": estimate,
            "destination_html": _destination(request, destination_form, token),
            "csrf_token": token,
        },
        request,
    )
    return framed(request, TITLE, content)


def _rows(request, rows, token):
    symbol = shop_settings(request).currency_symbol
    html = []
    for line, thumbnail in rows:
        stencil = stencils.kept(
            request,
            "cart-line",
            line.variant.pk,
            lambda line=line, thumbnail=thumbnail: _line_stencil(
                request, line, thumbnail
            ),
        )
        html.append(
            stencil.fill(
                {
                    "csrf": token,
                    "quantity": line.quantity,
                    "max_quantity": line.max_quantity,
                    "total": format_money(line.total, symbol=symbol),
                },
            )
        )
    return mark_safe("".join(html))  # noqa: S308 - each part filled and escaped


def _line_stencil(request, line, thumbnail):
    html = render_to_string(
        "cart/line.html",
        {
            "line": line,
            "thumbnail": thumbnail,
            "csrf_token": stencils.slot("csrf"),
            "quantity": stencils.slot("quantity"),
            "max_quantity": stencils.slot("max_quantity"),
            "total": stencils.slot("total"),
        },
        request,
    )
    return stencils.Stencil(html)


def _destination(request, form, token):
    """The delivery form: as everyone with this destination sees it (made only when
    there is no such stencil yet), unless it was sent and shows its errors."""
    if form is not None:
        return render_to_string(
            "cart/destination.html",
            {"destination_form": form, "csrf_token": token},
            request,
        )
    initial = chosen_destination(request.session)
    stencil = stencils.kept(
        request,
        "cart-destination",
        tuple(sorted(initial.items())),
        lambda: stencils.Stencil(
            render_to_string(
                "cart/destination.html",
                {
                    "destination_form": DestinationForm(
                        initial=initial, request=request
                    ),
                    "csrf_token": stencils.slot("csrf"),
                },
                request,
            )
        ),
    )
    return stencil.fill({"csrf": token})
