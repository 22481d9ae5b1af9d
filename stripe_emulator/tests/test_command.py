import io

import pytest
from django.core.management import CommandError, call_command

from stripe_emulator import payments, webhooks

from .factories import create_session

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("stripe_emulator", *args, stdout=out)
    return out.getvalue()


def test_settle_finishes_a_bank_debit(stripe_client):
    session = create_session(stripe_client)
    payments.pay(session.id, method="bank_debit")

    assert run("settle", session.id) == f"{session.id}: payment_status paid\n"
    with pytest.raises(CommandError):
        run("settle", session.id)


def test_events_lists_the_outbox(stripe_client):
    session = create_session(stripe_client)
    stripe_client.v1.checkout.sessions.expire(session.id)
    [event] = webhooks.pending_events()

    assert run("events", "--pending").endswith(
        f" {event.id} checkout.session.expired pending (None)\n"
    )


def test_deliver_sends_pending_events_to_the_url(stripe_client):
    session = create_session(stripe_client)
    stripe_client.v1.checkout.sessions.expire(session.id)
    [event] = webhooks.pending_events()

    output = run("deliver", "--url", "http://127.0.0.1:9/unreachable/")

    assert output == f"{event.id} checkout.session.expired: 0\n"


def test_expire_due_with_nothing_due(stripe_client):
    create_session(stripe_client)

    assert run("expire_due") == ""
