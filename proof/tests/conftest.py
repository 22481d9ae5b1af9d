import pytest

from conftest import shop_without_shipping


@pytest.fixture(autouse=True)
def _no_shipping_unless_set(request):
    shop_without_shipping(request)
