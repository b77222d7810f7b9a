# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""The dispatcher's re-checks made outside the write lock (SQLite): a claimed batch is read and
decided with reads only, and the decisions are recorded in one short transaction that first
checks every message is still pending and claimed by this worker. On PostgreSQL the batch is
decided inside its transaction (the rows locked), so there the same calls must give the same
stored result."""

from datetime import timedelta

import pytest
from django.db import connection

from channels_app.consent.services import consent_withdraw
from channels_app.models import Message, MessageStatusChange
from channels_app.outbox import dispatch
from channels_app.outbox.dispatch import outbox_dispatch
from console.models import Event
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    NOON,
    customer,
    customer_make,
    seeded,
    sms_enqueue,
    twilio_account,
)
from tests.conftest import spy_count, spy_interfere
from tests.standins.fixtures import twilio_standin  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
SQLITE = connection.vendor == "sqlite"
SOON = NOON + timedelta(seconds=1)


@pytest.fixture
def decided(monkeypatch):
    """Counts the batches decided outside the lock and recorded; ``interfere`` runs once, after
    the first batch is decided (another writer acting before the decisions are recorded)."""
    calls = {"outside": 0, "interfere": None}
    spy_interfere(monkeypatch, dispatch, "_batch_decide", calls)
    spy_count(monkeypatch, dispatch, "_prepare_outside", calls, "outside")
    return calls


def test_a_batch_decided_outside_the_lock_sends_each_message_once_and_blocks_what_it_must(
    customer, twilio_standin, decided
):
    twilio_account(customer.workspace, twilio_standin)
    withdrawn = customer_make(customer.workspace, external_id="c-2", phone="+919812345679")
    for n in range(3):
        sms_enqueue(customer, key=f"run:1:node:send1:{n}")
    sms_enqueue(withdrawn, key="run:2:node:send1:1", run_id=2)
    consent_withdraw(
        customer=withdrawn, channel="sms", purpose="transactional", source="api", at=NOON
    )
    assert not connection.in_atomic_block
    assert outbox_dispatch(now=SOON)["sent"] == 3
    assert outbox_dispatch(now=SOON + timedelta(seconds=5))["sent"] == 0
    assert len(twilio_standin.requests_to("/Messages.json")) == 3
    statuses = dict(Message.objects.values_list("idempotency_key", "status"))
    assert statuses == {
        **{f"run:1:node:send1:{n}": "sent" for n in range(3)},
        "run:2:node:send1:1": "blocked",
    }
    assert MessageStatusChange.objects.filter(status="sending").count() == 3
    assert Event.objects.get(name="message.blocked").properties["reason"] == (
        "no_consent:sms:transactional"
    )
    assert not Message.objects.exclude(claimed_by=None).exists()
    assert decided["outside"] == (1 if SQLITE else 0)


def test_a_message_that_changed_while_its_batch_was_decided_is_left_out_and_the_rest_go(
    customer, twilio_standin, decided
):
    twilio_account(customer.workspace, twilio_standin)
    for n in range(3):
        sms_enqueue(customer, key=f"run:1:node:send1:{n}")
    first = Message.objects.get(idempotency_key="run:1:node:send1:0")
    if SQLITE:  # another worker blocks the first message after this batch decided to send it
        # (on PostgreSQL the batch holds the rows' locks while it decides: the other writer
        # would wait for its commit, so there is nothing to interleave)
        decided["interfere"] = lambda: Message.objects.filter(pk=first.pk).update(
            status="blocked", decision_reason="stopped elsewhere"
        )
    assert outbox_dispatch(now=SOON)["sent"] == (2 if SQLITE else 3)
    first.refresh_from_db()
    if SQLITE:  # the decisions were dropped and the batch decided again inside the lock
        assert first.status == "blocked" and first.provider_id == ""
        assert not MessageStatusChange.objects.filter(message=first, status="sending").exists()
        assert len(twilio_standin.requests_to("/Messages.json")) == 2
    assert Message.objects.filter(status="sent").count() == (2 if SQLITE else 3)
    assert decided["outside"] == 0
