"""An in-process stand-in for the parts of Stripe's API the shop calls."""


def client(api_key="sk_test_emulator", *, max_network_retries=2, retry_delay=0.0):
    """A ``stripe.StripeClient`` that talks to the emulator, for tests.

    Retries happen as with real Stripe, without the SDK's back-off sleep unless
    ``retry_delay`` asks for one.
    """
    import stripe

    from .http_client import EmulatorHTTPClient

    return stripe.StripeClient(
        api_key,
        http_client=EmulatorHTTPClient(retry_delay=retry_delay),
        max_network_retries=max_network_retries,
    )
