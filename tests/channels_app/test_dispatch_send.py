# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""The dispatcher against the Twilio stand-in and the simulator: outcomes of each failure mode."""

from datetime import timedelta

import pytest

from channels_app.consent.services import consent_withdraw
from channels_app.models import Message, ProviderAccount, SimulatedOutcome
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.outbox.simulated import simulated_outcomes_deliver
from console.models import Event
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    NOON,
    customer,
    seeded,
    sms_enqueue,
    twilio_account,
)
from tests.standins.fixtures import twilio_standin  # noqa: F401

pytestmark = pytest.mark.django_db
SOON = NOON + timedelta(seconds=1)


def message():
    return Message.objects.get()


def test_a_due_sms_goes_to_twilio_once_and_is_marked_sent(customer, twilio_standin):
    twilio_account(customer.workspace, twilio_standin)
    sms_enqueue(customer)
    assert outbox_dispatch(now=SOON)["sent"] == 1
    assert outbox_dispatch(now=SOON + timedelta(seconds=5))["sent"] == 0
    sent = twilio_standin.requests_to("/Messages.json")
    assert len(sent) == 1 and "58821" in sent[0].form["Body"]
    row = message()
    assert row.status == "sent" and row.provider_id.startswith("SM")
    assert "sangam_ref=run%3A1%3Anode%3Asend1%3A1" in sent[0].form["StatusCallback"]
    assert Event.objects.filter(name="message.sent").count() == 1


def test_a_batch_makes_at_most_its_provider_calls_and_leaves_the_rest_due(
    customer, twilio_standin, monkeypatch
):
    """Calls go one after another after the batch commits "sending": a batch larger than
    CALLS_PER_BATCH would leave its last sends waiting past the lease. The rest stay queued,
    unclaimed, and the next batch sends them."""
    monkeypatch.setattr("channels_app.outbox.dispatch.CALLS_PER_BATCH", 2)
    twilio_account(customer.workspace, twilio_standin, rate_limit_per_s=100)
    for n in range(3):
        sms_enqueue(customer, key=f"run:1:node:send{n}:1")
    assert outbox_dispatch(now=SOON)["sent"] == 2
    left = Message.objects.exclude(status="sent").get()
    assert (left.status, left.claimed_by, left.attempts) == ("queued", None, 0)
    assert outbox_dispatch(now=SOON)["sent"] == 1
    assert len(twilio_standin.requests_to("/Messages.json")) == 3
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def test_consent_withdrawn_after_queueing_sends_nothing_and_records_why(customer, twilio_standin):
    twilio_account(customer.workspace, twilio_standin)
    sms_enqueue(customer)
    consent_withdraw(
        customer=customer, channel="sms", purpose="transactional", source="api", at=NOON
    )
    outbox_dispatch(now=SOON)
    assert twilio_standin.requests_to("/Messages.json") == []
    row = message()
    assert row.status == "blocked" and row.decision_reason == "no_consent:sms:transactional"
    event = Event.objects.get(name="message.blocked")
    assert event.properties["reason"] == "no_consent:sms:transactional"


def test_429_defers_until_retry_after_without_dropping(customer, twilio_standin):
    twilio_account(customer.workspace, twilio_standin)
    sms_enqueue(customer)
    twilio_standin.fail_next(kind="rate_limit", retry_after="7")
    outbox_dispatch(now=SOON)
    row = message()
    assert row.status == "deferred" and row.due_at == SOON + timedelta(seconds=7)
    assert outbox_dispatch(now=SOON + timedelta(seconds=3))["sent"] == 0
    assert outbox_dispatch(now=SOON + timedelta(seconds=8))["sent"] == 1
    assert message().status == "sent"


def test_a_500_after_creating_is_reconciled_not_resent(customer, twilio_standin, settings):
    settings.DISPATCH_LEASE_S = 10
    twilio_account(customer.workspace, twilio_standin)
    sms_enqueue(customer)
    twilio_standin.fail_next(kind="create_then_500")
    outbox_dispatch(now=SOON)
    assert message().status == "unknown"
    outbox_dispatch(now=SOON + timedelta(seconds=11))
    assert len(twilio_standin.requests_to("/Messages.json")) == 1
    row = message()
    assert row.status == "sent" and row.provider_id in twilio_standin.messages


def test_a_500_before_creating_is_resent_once_after_reconciling(customer, twilio_standin, settings):
    settings.DISPATCH_LEASE_S = 10
    twilio_account(customer.workspace, twilio_standin)
    sms_enqueue(customer)
    twilio_standin.fail_next(kind="server_error")
    outbox_dispatch(now=SOON)
    assert message().status == "unknown"
    outbox_dispatch(now=SOON + timedelta(seconds=11))  # reconcile: not found -> requeued
    outbox_dispatch(now=SOON + timedelta(seconds=12))
    assert len(twilio_standin.requests_to("/Messages.json")) == 2
    assert len(twilio_standin.messages) == 1 and message().status == "sent"


def test_a_timeout_is_an_unknown_outcome_reconciled_before_any_resend(
    customer, twilio_standin, monkeypatch, settings
):
    settings.DISPATCH_LEASE_S = 10
    from channels_app.providers_console import services

    real = services.adapter_for
    monkeypatch.setattr(
        "channels_app.outbox.dispatch.adapter_for", lambda **kw: real(**kw, timeout_s=0.3)
    )
    twilio_account(customer.workspace, twilio_standin)
    sms_enqueue(customer)
    twilio_standin.fail_next(kind="hang", hang_s=0.6)
    outbox_dispatch(now=SOON)
    assert message().status == "unknown"
    import time

    time.sleep(0.5)  # the stand-in finishes creating the message after our timeout
    outbox_dispatch(now=SOON + timedelta(seconds=11))
    assert len(twilio_standin.messages) == 1 and message().status == "sent"


def test_a_permanent_error_fails_the_message_with_a_readable_reason(customer, twilio_standin):
    twilio_account(customer.workspace, twilio_standin)
    sms_enqueue(customer)
    twilio_standin.fail_next(kind="error", status=400, code="21610", message="unsubscribed")
    outbox_dispatch(now=SOON)
    row = message()
    assert row.status == "failed" and row.error_code == "21610"
    assert "unsubscribed" in row.error_reason
    failed = Event.objects.get(name="message.failed")
    assert failed.properties["error_code"] == "21610"


def test_bad_credentials_degrade_the_account_and_keep_the_message_queued(customer, twilio_standin):
    account = twilio_account(customer.workspace, twilio_standin)
    twilio_standin.auth_token = "rotated-token"
    sms_enqueue(customer)
    outbox_dispatch(now=SOON)
    account = ProviderAccount.objects.get(pk=account.pk)
    assert account.breaker_state == "open" and "credentials" in account.degraded_reason
    row = message()
    assert row.status == "queued" and row.due_at > SOON


def test_transient_failures_open_the_circuit_breaker_after_the_threshold(
    customer, twilio_standin, monkeypatch
):
    account = twilio_account(customer.workspace, twilio_standin)
    from channels_app.providers_console.services import provider_account_save

    # Nothing listens on port 9: connection refused, provably not sent.
    provider_account_save(
        workspace=customer.workspace,
        kind="twilio",
        name="Twilio India",
        credentials={"base_url": "http://127.0.0.1:9"},
        account=account,
    )
    ProviderAccount.objects.filter(pk=account.pk).update(breaker_threshold=2)
    for n in range(2):
        sms_enqueue(customer, key=f"k{n}")
    outbox_dispatch(now=SOON)
    account.refresh_from_db()
    assert account.breaker_state == "open"
    assert set(Message.objects.values_list("status", flat=True)) == {"queued"}


def test_the_simulator_plays_outcomes_through_its_webhook(customer):
    sms_enqueue(customer)
    outbox_dispatch(now=SOON)
    assert message().provider_kind == "simulator"
    planned = SimulatedOutcome.objects.count()
    assert planned >= 2
    assert simulated_outcomes_deliver(now=SOON + timedelta(minutes=10)) == planned
    assert message().status in ("delivered", "failed")
    assert Event.objects.filter(name__in=["message.delivered", "message.failed"]).count() == 1


def test_due_outcomes_travel_in_webhooks_of_500_each_stored_whole_for_replay(customer):
    from channels_app.models.providers import WebhookReceipt
    from channels_app.outbox.simulated import EVENTS_PER_POST
    from channels_app.providers.base import WebhookRequest
    from channels_app.providers.simulator import simulator_events_parse

    for n in range(300):
        sms_enqueue(customer, key=f"run:1:node:send{n}:1")
    while outbox_dispatch(limit=300, now=SOON)["sent"]:
        pass
    planned = SimulatedOutcome.objects.count()
    assert planned > EVENTS_PER_POST  # more than one webhook's worth
    assert simulated_outcomes_deliver(now=SOON + timedelta(minutes=10), limit=1000) == planned
    receipts = list(WebhookReceipt.objects.filter(provider_kind="simulator").order_by("id"))
    sizes = [
        len(simulator_events_parse(WebhookRequest(url="", raw_body=r.body.encode())))
        for r in receipts
    ]
    assert sizes[0] == EVENTS_PER_POST and sum(sizes) == planned  # every body parses whole
    assert all(r.processed_at is not None for r in receipts)
    assert Event.objects.filter(name="message.sent").count() == 300


def test_due_outcomes_are_claimed_once_in_due_order(customer):
    from channels_app.outbox.simulated import _due_claim

    for n in range(3):
        sms_enqueue(customer, key=f"run:1:node:claim{n}:1")
    outbox_dispatch(limit=10, now=SOON)
    planned = list(
        SimulatedOutcome.objects.order_by("due_at", "id").values_list("event", flat=True)
    )
    later = SOON + timedelta(minutes=10)
    first, second = _due_claim(later, 2), _due_claim(later, 2)
    claimed = [event for _, event in first + second]
    assert claimed == planned[:4]  # in due order, none twice
    rest = _due_claim(later, 100)
    assert [event for _, event in rest] == planned[4:] and _due_claim(later, 100) == []
    assert not SimulatedOutcome.objects.filter(delivered_at__isnull=True).exists()
