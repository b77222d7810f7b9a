# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
from datetime import timedelta

import pytest
from django.db import transaction

from channels_app.consent.services import consent_withdraw
from channels_app.models import Message, MessageStatusChange
from channels_app.outbox.services import (
    message_enqueue,
    message_outcome_record,
    messages_enqueue_bulk,
)
from console.models import Event
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    NOON,
    ORDER,
    customer,
    seeded,
    sms_send_args,
)

pytestmark = pytest.mark.django_db


def enqueue(customer, **kw):
    return message_enqueue(**sms_send_args(customer, **kw))


def test_enqueue_renders_decides_and_writes_one_queued_message(customer):
    result = enqueue(customer)
    assert result.status == "queued" and result.channel == "sms", result
    row = Message.objects.get(pk=result.message_id)
    assert "58821" in row.rendered_text and row.decision_action == "send"
    assert row.spec["dlt_template_id"] and row.to_number == customer.phone
    assert row.due_at == NOON


def test_enqueue_twice_with_the_same_key_returns_the_first_row_and_writes_nothing(customer):
    first = enqueue(customer)
    again = enqueue(customer, variables={"order_id": "different"})
    assert again == first
    assert Message.objects.count() == 1


def test_a_missing_variable_fails_with_a_readable_detail(customer):
    result = enqueue(customer, variables={"amount": "1"})
    assert result.status == "failed" and "order_id" in result.detail


def test_withdrawn_consent_blocks_with_its_reason(customer):
    consent_withdraw(
        customer=customer,
        channel="sms",
        purpose="promotional",
        source="api",
        at=NOON - timedelta(days=1),
    )
    result = enqueue(
        customer,
        template_key="return10_promo_sms",
        purpose="promotional",
        idempotency_key="promo-1",
        variables={"coupon_code": "RETURN10"},
    )
    assert result.status == "blocked" and result.reason == "no_consent:sms:promotional"


def test_best_channel_picks_a_sibling_template_of_the_family(customer):
    result = enqueue(
        customer,
        channel="best",
        template_key="dispatch",
        purpose="service",
        idempotency_key="best-1",
    )
    assert result.status == "queued" and result.channel == "whatsapp"
    assert Message.objects.get().template_key == "dispatch_whatsapp"


def test_bulk_enqueue_gives_one_result_per_item(customer):
    items = [sms_send_args(customer, f"k{i}", run_id=None, node_id="") for i in range(3)]
    results = messages_enqueue_bulk(items)
    assert [r.status for r in results] == ["queued"] * 3


def test_a_voice_message_gets_its_call_row(customer):
    result = enqueue(
        customer,
        channel="voice",
        template_key="out_for_delivery_ivr",
        purpose="service",
        idempotency_key="call-1",
        kind="call",
    )
    row = Message.objects.get(pk=result.message_id)
    assert row.call.direction == "outbound" and "58821" in row.call.prompt


def test_outcomes_move_forward_only_and_emit_one_event_each(customer):
    message = Message.objects.get(
        pk=enqueue(
            customer,
            channel="whatsapp",
            template_key="dispatch_whatsapp",
            purpose="service",
            idempotency_key="wa-1",
        ).message_id
    )
    with transaction.atomic():
        message_outcome_record(message=message, status="read", source="test")
        message_outcome_record(message=message, status="delivered", source="test")
        message_outcome_record(message=message, status="read", source="test")
        message_outcome_record(message=message, status="failed", source="test")
    message.refresh_from_db()
    assert message.status == "read"
    names = sorted(Event.objects.values_list("name", flat=True))
    assert names == ["message.delivered", "message.read", "message.sent"]
    event = Event.objects.get(name="message.read")
    assert event.idempotency_key == f"msg:{message.pk}:read"
    assert event.properties["message_key"] == "wa-1" and event.source == "channel"
    assert MessageStatusChange.objects.filter(message=message).count() == 3


def test_each_status_is_reported_once_when_first_reached_or_passed():
    from channels_app.outbox.states import Transition, transition

    assert transition("sending", "read", "whatsapp").events == ("sent", "delivered", "read")
    assert transition("sent", "read", "whatsapp").events == ("delivered", "read")
    assert transition("sent", "delivered", "sms") == Transition("delivered", ("delivered",))
    for late in ("sent", "delivered", "read"):  # reported with read already
        assert transition("read", late, "whatsapp") == Transition(None, ())
    assert transition("sent", "failed", "sms").events == ("failed",)
    assert transition("delivered", "failed", "sms") == Transition(None, ())
