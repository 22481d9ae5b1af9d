import pytest

import stripe_emulator
from stripe_emulator import faults


@pytest.fixture(autouse=True)
def emulator_settings(settings):
    """Events wait in the outbox for the test to deliver them; no fault leaks."""
    settings.STRIPE_EMULATOR_AUTO_DELIVER = False
    settings.SITE_URL = "http://shop.test"
    faults.reset()
    yield
    faults.reset()


@pytest.fixture
def stripe_client():
    """The real SDK, answered by the emulator; retries happen without sleeping."""
    return stripe_emulator.client()
