"""The SDK's side of the emulator: requests, errors, idempotency and faults."""

import pytest
import stripe

import stripe_emulator
from stripe_emulator import faults
from stripe_emulator.errors import InvalidRequest
from stripe_emulator.http_client import EmulatorHTTPClient
from stripe_emulator.models import EmulatedObject, IdempotencyRecord
from stripe_emulator.params import decode

from .factories import create_session, session_params

pytestmark = pytest.mark.django_db


def sessions_stored():
    return EmulatedObject.objects.filter(type="checkout.session").count()


def test_form_encoding_is_decoded_into_dicts_and_lists():
    encoded = (
        "line_items[0][price_data][product_data][name]=Ch%C3%A2teau"
        "&line_items[0][quantity]=2&line_items[1][quantity]=1"
        "&metadata[order]=7&discounts[0][coupon]=TEN&expand[0]=a&expand[1]=b.c"
        "&success_url=http%3A%2F%2Fx.test%2F%3Fid%3D%7BCHECKOUT_SESSION_ID%7D"
    )

    assert decode(encoded) == {
        "line_items": [
            {"price_data": {"product_data": {"name": "Château"}}, "quantity": "2"},
            {"quantity": "1"},
        ],
        "metadata": {"order": "7"},
        "discounts": [{"coupon": "TEN"}],
        "expand": ["a", "b.c"],
        "success_url": "http://x.test/?id={CHECKOUT_SESSION_ID}",
    }


def test_an_array_with_a_gap_is_refused():
    with pytest.raises(InvalidRequest) as error:
        decode("line_items[0][quantity]=1&line_items[2][quantity]=1")

    assert error.value.param == "line_items"


def test_an_unknown_parameter_names_itself(stripe_client):
    # given a typo deep in a line item
    params = session_params()
    params["line_items"][1]["price_data"]["product_data"]["nmae"] = "Typo"

    # when
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.create(params=params)

    # then
    param = "line_items[1][price_data][product_data][nmae]"
    assert error.value.http_status == 400
    assert error.value.param == param
    assert error.value.user_message == f"Received unknown parameter: {param}"
    assert sessions_stored() == 0


def test_an_unknown_url_is_404(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.raw_request("get", "/v1/xyz")

    assert error.value.http_status == 404
    assert error.value.user_message == (
        "Unrecognized request URL (GET: /v1/xyz). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/."
    )


@pytest.mark.parametrize("api_key", ["", "sk_live_" + "1" * 9, "pk_test_123456789"])
def test_a_missing_or_non_test_key_is_refused(api_key):
    client = stripe_emulator.client(api_key)

    with pytest.raises(stripe.AuthenticationError) as error:
        client.v1.coupons.retrieve("ANY")

    assert error.value.http_status == 401


def test_a_replayed_request_answers_the_first_response(stripe_client):
    # given
    first = stripe_client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "order-7-session"}
    )

    # when the same request is sent again with the same key
    again = stripe_client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "order-7-session"}
    )

    # then
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert sessions_stored() == 1


def test_a_key_reused_with_other_parameters_is_an_idempotency_error(stripe_client):
    # given
    stripe_client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "order-7-session"}
    )

    # when
    with pytest.raises(stripe.IdempotencyError) as error:
        stripe_client.v1.checkout.sessions.create(
            params=session_params(client_reference_id="CEL-1002"),
            options={"idempotency_key": "order-7-session"},
        )

    # then
    assert error.value.http_status == 400
    assert error.value.user_message == (
        "Keys for idempotent requests can only be used with the same parameters "
        "they were first used with. Try using a key other than 'order-7-session' "
        "if you meant to execute a different request."
    )
    assert sessions_stored() == 1


def test_a_key_reused_on_another_endpoint_is_an_idempotency_error(stripe_client):
    create_session(stripe_client)
    stripe_client.v1.coupons.create(
        params={"percent_off": 10}, options={"idempotency_key": "shared"}
    )

    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.checkout.sessions.create(
            params=session_params(), options={"idempotency_key": "shared"}
        )


def test_a_failed_request_is_not_stored_so_a_corrected_retry_runs(stripe_client):
    # given a first attempt that fails validation
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.create(
            params=session_params(success_url="nope"),
            options={"idempotency_key": "order-8-session"},
        )

    # when
    session = stripe_client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "order-8-session"}
    )

    # then
    assert session.status == "open"
    assert IdempotencyRecord.objects.get(key="order-8-session").status == 200


def test_the_sdk_sends_a_key_with_every_post():
    # given no idempotency_key option
    create_session(stripe_emulator.client())

    # then stripe-python generated one, and the emulator kept the response
    assert IdempotencyRecord.objects.count() == 1


def test_a_server_error_is_retried_with_the_same_key_and_runs_once(stripe_client):
    # given the next request answers 500 (before touching anything)
    faults.fail_next(kind="server_error")

    # when the SDK retries (max_network_retries=2)
    session = stripe_client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "order-9-session"}
    )

    # then
    assert session.status == "open"
    assert sessions_stored() == 1
    assert faults.pending() == []


def test_without_retries_a_server_error_raises_api_error():
    client = stripe_emulator.client(max_network_retries=0)
    faults.fail_next(kind="server_error", path_startswith="/v1/checkout/sessions")

    with pytest.raises(stripe.APIError) as error:
        create_session(client)

    assert error.value.http_status == 500
    assert sessions_stored() == 0
    assert create_session(client).status == "open"


def test_connection_errors_are_retried_then_surface_as_api_connection_error():
    # given three failures for a client that tries three times
    client = stripe_emulator.client(max_network_retries=2)
    faults.fail_next(times=3, kind="connection_error")

    # when
    with pytest.raises(stripe.APIConnectionError):
        create_session(client)

    # then every attempt was used up and nothing was created
    assert faults.pending() == []
    assert sessions_stored() == 0


def test_one_connection_error_is_absorbed_by_a_retry():
    faults.fail_next(times=1, kind="connection_error")

    session = create_session(stripe_emulator.client(max_network_retries=1))

    assert session.status == "open"


def test_without_retries_each_connection_error_surfaces():
    client = stripe_emulator.client(max_network_retries=0)
    faults.fail_next(times=2, kind="connection_error")

    for _ in range(2):
        with pytest.raises(stripe.APIConnectionError):
            create_session(client)

    assert create_session(client).status == "open"


def test_a_timeout_runs_the_request_and_the_retry_replays_it():
    # given the response to the next request is lost after it ran
    faults.fail_next(kind="timeout")

    # when
    session = create_session(stripe_emulator.client(max_network_retries=2))

    # then the retry, with the same key, got the first request's session
    assert sessions_stored() == 1
    assert session.id == EmulatedObject.objects.get(type="checkout.session").id
    assert session.last_response.headers["Idempotent-Replayed"] == "true"


def test_without_retries_a_timeout_leaves_the_session_created():
    client = stripe_emulator.client(max_network_retries=0)
    faults.fail_next(kind="timeout")

    with pytest.raises(stripe.APIConnectionError):
        client.v1.checkout.sessions.create(
            params=session_params(), options={"idempotency_key": "order-10"}
        )
    again = client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "order-10"}
    )

    assert sessions_stored() == 1
    assert again.id == EmulatedObject.objects.get(type="checkout.session").id


def test_rate_limits_are_not_retried_by_the_sdk(stripe_client):
    # given two 429s
    faults.fail_next(times=2, kind="rate_limit")

    # when
    with pytest.raises(stripe.RateLimitError) as error:
        create_session(stripe_client)

    # then the SDK gave up after the first: 429 is not among what it retries
    assert error.value.http_status == 429
    assert error.value.error.code == "rate_limit"
    assert faults.pending() == [("rate_limit", 1, None)]


def test_a_lock_timeout_is_retried_because_stripe_says_so(stripe_client):
    faults.fail_next(kind="lock_timeout")

    session = create_session(stripe_client)

    assert session.status == "open"
    assert faults.pending() == []


def test_without_retries_a_lock_timeout_is_a_rate_limit_error():
    faults.fail_next(kind="lock_timeout")

    with pytest.raises(stripe.RateLimitError) as error:
        create_session(stripe_emulator.client(max_network_retries=0))

    assert error.value.error.code == "lock_timeout"
    assert error.value.headers["Stripe-Should-Retry"] == "true"


def test_faults_match_only_their_paths(stripe_client):
    faults.fail_next(kind="server_error", path_startswith="/v1/refunds")

    create_session(stripe_client)

    assert faults.pending() == [("server_error", 1, "/v1/refunds")]


def test_a_stripe_client_without_max_network_retries_does_not_retry():
    # stripe.StripeClient leaves max_network_retries unset: no retry at all,
    # unlike the module-level stripe.max_network_retries (2).
    client = stripe.StripeClient("sk_test_x", http_client=EmulatorHTTPClient())
    faults.fail_next(kind="server_error")

    with pytest.raises(stripe.APIError):
        create_session(client)
