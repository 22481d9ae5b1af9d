"""Random sequences of cart operations keep the cart's invariants."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart.services import MAX_LINE_QUANTITY, Cart, CartConflict, CartError
from products.models import WineVariant

VARIANT_KEYS = ["red", "white", "inactive", "sold_out", "unpublished", "missing"]

quantities = st.one_of(
    st.integers(min_value=-3, max_value=30),
    st.sampled_from(["1", "2", "0", "x", "1.5", "", None]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(VARIANT_KEYS), quantities),
        st.tuples(st.just("update"), st.sampled_from(VARIANT_KEYS), quantities),
        st.tuples(st.just("remove"), st.sampled_from(VARIANT_KEYS), st.none()),
        st.tuples(
            st.just("replace"),
            st.dictionaries(st.sampled_from(VARIANT_KEYS), quantities, max_size=4),
            st.booleans(),
        ),
        st.tuples(st.just("clear"), st.none(), st.none()),
    ),
    max_size=12,
)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=operations)
def test_cart_invariants_hold_after_every_step(cart_request, wines, steps):
    cart_request.session.clear()
    ids = {key: str(variant.pk) for key, variant in wines.items()}
    ids["missing"] = "987654321"

    for name, target, argument in steps:
        cart = Cart(cart_request)
        contents, version = cart.items, cart.version
        try:
            if name in ("add", "update"):
                getattr(cart, name)(ids[target], argument)
            elif name == "remove":
                cart.remove(ids[target])
            elif name == "replace":
                items = {ids[key]: {"quantity": qty} for key, qty in target.items()}
                cart.replace(items, version if argument else "stale")
            else:
                cart.clear()
        except (CartError, CartConflict):
            assert Cart(cart_request).items == contents

        after = Cart(cart_request)
        prices = {
            str(v.pk): v for v in WineVariant.objects.filter(pk__in=after.items.keys())
        }
        assert after.count == sum(after.items.values())
        for line in after.lines:
            variant = prices[str(line.variant.pk)]
            assert line.total == (variant.price * line.quantity).quantize(
                Decimal("0.01")
            )
            assert 1 <= line.quantity <= min(variant.stock, MAX_LINE_QUANTITY)
            assert variant.active and variant.page.live
        assert (after.version != version) == (after.items != contents)
