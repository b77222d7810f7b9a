# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""Webhooks stored but never processed (the process died between storing and processing) are
replayed by the outbox sweep once they are old enough, exactly once in effect."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from channels_app.models import Call, CallKeyPress, Message, WebhookReceipt
from channels_app.outbox.simulated import simulator_post
from channels_app.outbox.tasks import outbox_sweep
from channels_app.providers.simulator import SimEvent
from channels_app.webhooks import services as webhook_services
from channels_app.webhooks.services import webhook_receipts_replay
from console.models import Event
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    customer,
    seeded,
    twilio_account,
)
from tests.channels_app.test_webhook_endpoints import sent_sms, status_form, twilio_post
from tests.standins.fixtures import twilio_standin  # noqa: F401

pytestmark = pytest.mark.django_db
LATER = timedelta(minutes=5)


@pytest.fixture
def crash_after_store(monkeypatch):
    """Make processing die after the receipt is stored, as a killed process would."""

    def died(*args, **kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(webhook_services, "_process", died)
    return monkeypatch


def test_a_status_stored_before_a_crash_is_applied_by_the_replay_once(
    customer, twilio_standin, crash_after_store
):
    account, message = sent_sms(customer, twilio_standin)
    form = status_form(message, "delivered")
    with pytest.raises(RuntimeError):
        twilio_post(Client(), account, form)
    crash_after_store.undo()
    assert twilio_post(Client(), account, form).content == b"duplicate"  # redelivery: stored
    receipt = WebhookReceipt.objects.get()
    assert receipt.processed_at is None
    message.refresh_from_db()
    assert message.status == "sent"

    assert webhook_receipts_replay() == 0  # too young: its request may still be running
    assert webhook_receipts_replay(now=timezone.now() + LATER) == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    receipt.refresh_from_db()
    assert receipt.processed_at is not None and receipt.result.startswith("replayed")
    assert webhook_receipts_replay(now=timezone.now() + LATER) == 0
    assert Event.objects.filter(name="message.delivered").count() == 1


def test_replaying_an_already_applied_status_changes_nothing(customer, twilio_standin):
    account, message = sent_sms(customer, twilio_standin)
    twilio_post(Client(), account, status_form(message, "delivered"))
    WebhookReceipt.objects.update(processed_at=None)  # as if the mark were lost
    assert webhook_receipts_replay(now=timezone.now() + LATER) == 1
    assert Event.objects.filter(name="message.delivered").count() == 1
    assert Message.objects.get().status == "delivered"


def test_a_late_key_press_records_the_call_but_runs_no_action(customer, crash_after_store):
    at = timezone.now().isoformat()
    call_in = SimEvent(type="inbound_call", provider_id="SIMCAlate", channel="voice",
                       from_number=customer.phone, at=at)  # fmt: skip
    key = SimEvent(type="keypress", provider_id="SIMCAlate", channel="voice", digits="2",
                   from_number=customer.phone, at=at)  # fmt: skip
    for event in (call_in, key):
        with pytest.raises(RuntimeError):
            simulator_post(workspace=customer.workspace, events=[event])
    crash_after_store.undo()
    assert webhook_receipts_replay(now=timezone.now() + LATER) == 2
    assert Call.objects.get().direction == "inbound"
    assert Event.objects.filter(name="inbound.call").count() == 1
    assert not CallKeyPress.objects.exists()
    assert not Event.objects.filter(name="agent.requested").exists()
    results = set(WebhookReceipt.objects.values_list("result", flat=True))
    assert "replayed: late keys skipped 1" in results


def test_the_outbox_sweep_runs_the_replay(customer, twilio_standin, crash_after_store):
    account, message = sent_sms(customer, twilio_standin)
    with pytest.raises(RuntimeError):
        twilio_post(Client(), account, status_form(message, "delivered"))
    crash_after_store.undo()
    WebhookReceipt.objects.update(received_at=timezone.now() - LATER)
    totals = outbox_sweep(max_s=0)
    assert totals["webhooks_replayed"] == 1
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_receipt_whose_replay_always_fails_is_given_up_with_its_error(
    customer, twilio_standin, crash_after_store
):
    from channels_app.webhooks.services import REPLAY_ATTEMPTS

    account, message = sent_sms(customer, twilio_standin)
    with pytest.raises(RuntimeError):
        twilio_post(Client(), account, status_form(message, "delivered"))
    # The processing keeps failing (crash_after_store stays): each sweep counts one failure.
    for attempt in range(1, REPLAY_ATTEMPTS):
        assert webhook_receipts_replay(now=timezone.now() + LATER) == 0
        receipt = WebhookReceipt.objects.get()
        assert (receipt.replay_failures, receipt.processed_at) == (attempt, None)
    webhook_receipts_replay(now=timezone.now() + LATER)
    receipt = WebhookReceipt.objects.get()
    assert receipt.processed_at is not None
    assert receipt.result.startswith(
        f"replay gave up after {REPLAY_ATTEMPTS} attempts: RuntimeError"
    )
    crash_after_store.undo()
    assert webhook_receipts_replay(now=timezone.now() + LATER) == 0  # no longer in the sweep
    message.refresh_from_db()
    assert message.status == "sent"
