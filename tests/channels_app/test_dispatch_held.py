# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures)
"""Sends through an in-database adapter (the simulator) are made and recorded inside the batch's
transaction: the row is marked, sent and answered by one write, and if recording fails nothing
of the batch is left behind (no committed "sending", no planned outcome), so the next batch
sends it once. The batch takes this path on PostgreSQL; on SQLite when the batch could not be
decided outside the write lock, which these tests force."""

from datetime import timedelta

import pytest
from django.conf import settings

from channels_app.models import Message, MessageStatusChange, SimulatedOutcome
from channels_app.outbox import dispatch, sending
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.providers.simulator import simulator_provider_id
from channels_app.providers_console.services import simulator_settings_save
from channels_app.tmpl.demo import demo_templates_seed
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    NOON,
    customer,
    customer_make,
    seeded,
    sms_enqueue,
)

pytestmark = pytest.mark.django_db(transaction=True)
SOON = NOON + timedelta(seconds=1)


@pytest.fixture
def inside_the_lock(monkeypatch):
    """SQLite decides a batch outside the write lock when it can: make it take the locked path,
    the one PostgreSQL always takes."""
    monkeypatch.setattr(dispatch, "_prepare_outside", lambda *args: None)


def _history(message: Message) -> list[str]:
    return list(
        MessageStatusChange.objects.filter(message=message)
        .order_by("id")
        .values_list("status", flat=True)
    )


def test_a_simulator_send_is_marked_sent_and_answered_by_one_transaction(customer, inside_the_lock):
    sms_enqueue(customer)
    assert outbox_dispatch(now=SOON)["sent"] == 1
    message = Message.objects.get()
    assert message.status == "sent"
    assert (message.attempts, message.provider_kind, message.sent_at) == (1, "simulator", SOON)
    assert message.provider_id and message.claimed_by is None and message.claimed_at is None
    assert _history(message) == ["sending", "sent"]  # the attempt still shows in the timeline
    assert SimulatedOutcome.objects.filter(message=message).exists()
    assert outbox_dispatch(now=SOON + timedelta(seconds=5))["sent"] == 0


def test_a_record_that_fails_leaves_nothing_of_the_send_and_the_next_batch_sends_it_once(
    customer, inside_the_lock, monkeypatch
):
    sms_enqueue(customer)

    def broken(rows):
        raise RuntimeError("the database went away while recording")

    monkeypatch.setattr(sending, "simulated_outcomes_insert", broken)
    with pytest.raises(RuntimeError):
        outbox_dispatch(now=SOON)
    message = Message.objects.get()
    assert (message.status, message.attempts, message.provider_id) == ("queued", 0, "")
    assert _history(message) == []
    assert not SimulatedOutcome.objects.exists()

    monkeypatch.undo()
    later = SOON + timedelta(seconds=settings.DISPATCH_LEASE_S + 1)  # past a SQLite claim
    assert outbox_dispatch(now=later)["sent"] == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert _history(message) == ["sending", "sent"]


def test_each_workspace_s_messages_go_through_its_own_simulator_settings_in_one_batch(
    customer, other_workspace, inside_the_lock
):
    demo_templates_seed(other_workspace)
    simulator_settings_save(workspace=customer.workspace, config={"seed": 11})
    simulator_settings_save(workspace=other_workspace, config={"seed": 22})
    other = customer_make(other_workspace, external_id="o-1", phone="+919812345670")
    sms_enqueue(customer, key="run:1:node:send1:1")
    sms_enqueue(other, key="run:2:node:send1:1", run_id=2)
    assert outbox_dispatch(now=SOON)["sent"] == 2
    for message, seed in ((Message.objects.get(customer=customer), 11),
                          (Message.objects.get(customer=other), 22)):  # fmt: skip
        outbound = sending.outbound_for(message, None)
        assert message.provider_id == simulator_provider_id(outbound, seed)
