# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures)
"""Providers' answers and status webhooks worked out outside the write lock (SQLite): the rows
are read and their new statuses, history, events and the simulator's plans worked out with
reads only, then written in one short transaction that first checks that no message moved.
When one moved, the batch is done again inside the lock, so the result is the one the usual
path gives. On PostgreSQL the same calls take the usual path (the rows locked)."""

from datetime import timedelta

import pytest
from django.db import connection, transaction

from channels_app.models import Message, MessageStatusChange, SimulatedOutcome
from channels_app.models.providers import WebhookReceipt
from channels_app.outbox import sending
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.outbox.outcomes import message_outcome_record
from channels_app.outbox.simulated import simulated_outcomes_deliver
from channels_app.webhooks import services as webhook_services
from console.models import Event
from tests.channels_app.outbox_fixtures import NOON, customer, seeded, sms_enqueue  # noqa: F401
from tests.conftest import spy_count, spy_interfere

pytestmark = pytest.mark.django_db(transaction=True)
SQLITE = connection.vendor == "sqlite"
SOON = NOON + timedelta(seconds=1)
LATER = SOON + timedelta(minutes=10)


@pytest.fixture
def prepared(monkeypatch):
    """Counts the answers and webhooks written from a prepared batch; ``interfere`` runs once,
    after a batch was worked out and before it is written (another writer acting meanwhile)."""
    calls = {"answers": 0, "webhooks": 0, "interfere": None}
    spy_count(monkeypatch, sending, "_record_prepared", calls, "answers", took=bool)
    spy_count(monkeypatch, webhook_services, "_process_prepared", calls, "webhooks")
    spy_interfere(monkeypatch, sending, "outcomes_plan", calls)
    spy_interfere(monkeypatch, webhook_services, "statuses_prepare", calls)
    return calls


def _events(name: str) -> int:
    return Event.objects.filter(name=name).count()


def test_answers_and_status_webhooks_prepared_outside_the_lock_record_everything_once(
    customer, prepared
):
    for n in range(4):
        sms_enqueue(customer, key=f"run:1:node:send1:{n}")
    assert not connection.in_atomic_block
    assert outbox_dispatch(now=SOON)["sent"] == 4
    messages = Message.objects.all()
    assert {(m.status, m.claimed_by, bool(m.provider_id)) for m in messages} == {
        ("sent", None, True)
    }
    assert MessageStatusChange.objects.filter(status="sent").count() == 4
    assert _events("message.sent") == 4
    planned = SimulatedOutcome.objects.count()
    assert planned >= 8  # at least delivered-or-failed after sent, for each message
    assert prepared["answers"] == (1 if SQLITE else 0)

    assert simulated_outcomes_deliver(now=LATER) == planned
    final = dict(Message.objects.values_list("idempotency_key", "status"))
    assert set(final.values()) <= {"delivered", "read", "failed"}
    for message in Message.objects.all():  # one event per status reached, none twice
        reached = set(
            MessageStatusChange.objects.filter(message=message).values_list("status", flat=True)
        )
        names = list(
            Event.objects.filter(properties__message_id=message.pk).values_list("name", flat=True)
        )
        assert len(names) == len(set(names))
        assert f"message.{message.status}" in names and message.status in reached
    assert _events("message.sent") == 4  # the webhook's "sent" was already recorded
    assert not WebhookReceipt.objects.filter(processed_at=None).exists()
    assert prepared["webhooks"] == (1 if SQLITE else 0)


def test_an_answer_whose_message_moved_meanwhile_is_recorded_again_inside_the_lock(
    customer, prepared
):
    sms_enqueue(customer)
    first = Message.objects.get()

    def delivered_first():  # the provider's "delivered" webhook overtook our "sent"
        with transaction.atomic():
            message_outcome_record(
                message=Message.objects.select_related("workspace").get(pk=first.pk),
                status="delivered", at=SOON, source="webhook:simulator",
            )  # fmt: skip

    if SQLITE:  # on PostgreSQL the row is locked while the answer is recorded
        prepared["interfere"] = delivered_first
    assert outbox_dispatch(now=SOON)["sent"] == 1
    first.refresh_from_db()
    assert (first.status if SQLITE else "delivered") == "delivered"
    assert first.provider_id and first.claimed_by is None and first.sent_at is not None
    assert _events("message.sent") == 1
    assert SimulatedOutcome.objects.filter(message=first).exists()
    assert prepared["answers"] == 0


def test_a_status_webhook_whose_message_moved_meanwhile_is_processed_again_inside_the_lock(
    customer, prepared
):
    sms_enqueue(customer)
    outbox_dispatch(now=SOON)
    message = Message.objects.get()
    assert message.status == "sent"

    def failed_first():  # another webhook marked it failed while this one was worked out
        with transaction.atomic():
            message_outcome_record(
                message=Message.objects.select_related("workspace").get(pk=message.pk),
                status="failed", at=SOON, source="webhook:simulator", error_code="30003",
            )  # fmt: skip

    if SQLITE:
        prepared["interfere"] = failed_first
    planned = SimulatedOutcome.objects.count()
    assert simulated_outcomes_deliver(now=LATER) == planned
    message.refresh_from_db()
    if SQLITE:  # failed is final: the late "delivered" / "read" change nothing
        assert message.status == "failed" and message.error_code == "30003"
        assert _events("message.failed") == 1
        assert not Event.objects.filter(name__in=["message.delivered", "message.read"]).exists()
    assert message.status in ("delivered", "read", "failed")
    assert not WebhookReceipt.objects.filter(processed_at=None).exists()
    assert prepared["webhooks"] == 0
