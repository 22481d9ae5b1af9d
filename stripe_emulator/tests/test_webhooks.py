import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import stripe

from stripe_emulator import payments, webhooks
from stripe_emulator.models import EmulatedEvent
from stripe_emulator.webhooks import RecordingTransport

from .factories import create_session, paid_session

pytestmark = pytest.mark.django_db
SECRET = "whsec_cellar_emulator_dev_only"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


@pytest.fixture
def completed_event(stripe_client):
    session = create_session(stripe_client)
    payments.pay(session.id, "4242424242424242", name="Ada Lovelace")
    return EmulatedEvent.objects.get(type="checkout.session.completed")


def test_an_event_is_a_stripe_event_object(stripe_client, completed_event):
    # when
    event = completed_event.data
    fetched = stripe_client.v1.events.retrieve(event["id"])

    # then
    assert event["id"].startswith("evt_")
    assert (event["object"], event["type"], event["livemode"]) == (
        "event",
        "checkout.session.completed",
        False,
    )
    assert event["api_version"] == stripe.api_version
    assert event["pending_webhooks"] == 1
    assert event["request"] == {"id": None, "idempotency_key": None}
    assert event["data"]["object"]["object"] == "checkout.session"
    assert fetched.id == event["id"]
    assert fetched.data.object.payment_status == "paid"


def test_events_caused_by_an_api_call_name_the_request(stripe_client):
    session = create_session(stripe_client)

    expired = stripe_client.v1.checkout.sessions.expire(
        session.id, options={"idempotency_key": "expire-7"}
    )

    event = EmulatedEvent.objects.get(type="checkout.session.expired").data
    assert event["request"] == {
        "id": expired.last_response.request_id,
        "idempotency_key": "expire-7",
    }


def test_the_signature_is_stripes(completed_event):
    # given
    body = webhooks.payload(completed_event)
    header = webhooks.sign(body)

    # when
    event = stripe.Webhook.construct_event(body, header, SECRET)

    # then
    assert (event.id, event.type) == (completed_event.id, "checkout.session.completed")
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)


@pytest.mark.parametrize(
    "forge",
    [
        lambda body: (body.replace('"paid"', '"unpaid"'), webhooks.sign(body)),
        lambda body: (body, webhooks.sign(body, secret="whsec_someone_else")),
        lambda body: (body, webhooks.sign(body, timestamp=time.time() - 301)),
        lambda body: (body, "t=1,v1=deadbeef"),
        lambda body: (body, ""),
    ],
    ids=["tampered body", "other secret", "too old", "garbage", "missing"],
)
def test_forged_signatures_are_rejected(completed_event, forge):
    body, header = forge(webhooks.payload(completed_event))

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, SECRET)


def test_deliver_twice(completed_event):
    # given
    transport = RecordingTransport()

    # when
    statuses = webhooks.deliver(completed_event.id, transport=transport, times=2)

    # then
    assert statuses == [200, 200]
    assert [event["id"] for event in transport.events] == [completed_event.id] * 2
    body, headers = transport.calls[0]
    assert stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    completed_event.refresh_from_db()
    assert (completed_event.attempt_count, completed_event.delivered_count) == (2, 2)
    assert completed_event.last_status == 200
    assert webhooks.pending_events() == []


def test_a_failed_delivery_leaves_the_event_pending(completed_event):
    assert webhooks.deliver(completed_event, transport=RecordingTransport(500)) == [500]

    assert webhooks.pending_events() == [completed_event]
    completed_event.refresh_from_db()
    assert (completed_event.attempt_count, completed_event.last_status) == (1, 500)


def test_deliver_late_with_an_old_timestamp(completed_event):
    transport = RecordingTransport()

    webhooks.deliver(completed_event, transport=transport, timestamp=time.time() - 3600)

    body, headers = transport.calls[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)


def test_deliver_pending_in_order_reversed_or_by_type(stripe_client):
    # given a payment then its refund
    session = paid_session(stripe_client)
    stripe_client.v1.refunds.create(params={"payment_intent": session.payment_intent})
    assert [event.type for event in webhooks.pending_events()] == [
        "checkout.session.completed",
        "charge.refunded",
    ]

    # when delivered out of order
    reversed_transport = RecordingTransport(status=[500, 200])
    sent = webhooks.deliver_pending(transport=reversed_transport, order="reversed")

    # then the refund came first and failed, so only it is still pending
    assert reversed_transport.types == ["charge.refunded", "checkout.session.completed"]
    assert [(event.type, event.last_status) for event in sent] == [
        ("charge.refunded", 500),
        ("checkout.session.completed", 200),
    ]
    assert [event.type for event in webhooks.pending_events()] == ["charge.refunded"]

    # when pending refunds are sent
    by_type = RecordingTransport()
    webhooks.deliver_pending(transport=by_type, types=["charge.refunded"])

    # then
    assert by_type.types == ["charge.refunded"]
    assert webhooks.pending_events() == []


def test_pending_events_by_type(stripe_client):
    paid_session(stripe_client)
    create_session(stripe_client)

    assert [e.type for e in webhooks.pending_events("checkout.session.completed")] == [
        "checkout.session.completed"
    ]
    assert webhooks.pending_events("charge.refunded") == []


def test_django_client_transport_posts_signed_json(client, completed_event):
    # given a path with no webhook behind it
    transport = webhooks.django_client_transport(client, path="/no-such-webhook/")

    # when
    statuses = webhooks.deliver(completed_event, transport=transport)

    # then the attempt is recorded as the endpoint answered it
    assert statuses == [404]
    assert len(webhooks.pending_events()) == 1


class Receiver(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        Receiver.received.append((body, self.headers["Stripe-Signature"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/checkout/webhook/"
    server.shutdown()
    server.server_close()


def test_http_transport_posts_to_the_url(completed_event, receiver):
    statuses = webhooks.deliver(
        completed_event, transport=webhooks.http_transport(receiver)
    )

    assert statuses == [204]
    [(body, signature)] = Receiver.received
    assert json.loads(body)["id"] == completed_event.id
    assert stripe.Webhook.construct_event(body, signature, SECRET).id == (
        completed_event.id
    )


def test_an_unreachable_endpoint_is_a_failed_attempt(completed_event):
    transport = webhooks.http_transport("http://127.0.0.1:9/checkout/webhook/", 1)

    assert webhooks.deliver(completed_event, transport=transport) == [0]
    assert len(webhooks.pending_events()) == 1


def test_failed_deliveries_are_retried_with_back_off(completed_event):
    # given an endpoint that fails twice
    transport = RecordingTransport(status=[500, 0, 200])
    slept = []

    # when
    statuses = webhooks.deliver_with_retries(
        completed_event.id, transport, sleep=slept.append
    )

    # then
    assert statuses == [500, 0, 200]
    assert slept == [1, 2]
    completed_event.refresh_from_db()
    assert (completed_event.attempt_count, completed_event.delivered_count) == (3, 1)


def test_retries_stop_after_five(completed_event):
    slept = []

    statuses = webhooks.deliver_with_retries(
        completed_event.id, RecordingTransport(503), sleep=slept.append
    )

    assert statuses == [503] * 6
    assert slept == [1, 2, 4, 8, 16]


@pytest.mark.parametrize(("auto_deliver", "scheduled"), [(True, 1), (False, 0)])
def test_events_are_sent_after_commit_unless_switched_off(
    settings, stripe_client, django_capture_on_commit_callbacks, auto_deliver, scheduled
):
    # given
    settings.STRIPE_EMULATOR_AUTO_DELIVER = auto_deliver
    session = create_session(stripe_client)

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        payments.pay(session.id, "4242424242424242")

    # then
    assert len(callbacks) == scheduled


def test_the_webhook_url_defaults_to_the_shops(settings):
    del settings.STRIPE_EMULATOR_WEBHOOK_URL
    assert webhooks.webhook_url() == "http://shop.test/checkout/webhook/"

    settings.STRIPE_EMULATOR_WEBHOOK_URL = "http://127.0.0.1:9000/hook/"
    assert webhooks.webhook_url() == "http://127.0.0.1:9000/hook/"
