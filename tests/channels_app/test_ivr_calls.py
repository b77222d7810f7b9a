# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""IVR: outbound voice-bot calls (key presses, digit actions) and inbound calls with context."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from channels_app.ivr import context as ivr_context
from channels_app.ivr.menus import ivr_menu_save
from channels_app.models import Call, Message
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.outbox.services import message_enqueue
from channels_app.outbox.simulated import simulator_post
from channels_app.providers.simulator import SimEvent
from channels_app.providers.twilio import twilio_signature
from console.models import Event
from console.services import events_ingest
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    NOON,
    ORDER,
    customer,
    seeded,
    twilio_account,
)
from tests.standins.fixtures import twilio_standin  # noqa: F401

pytestmark = pytest.mark.django_db


def event(customer, **fields):
    base = dict(channel="voice", at=timezone.now().isoformat(), reference="")
    return SimEvent(**{**base, **fields})


def placed_call(customer):
    from channels_app.providers_console.services import simulator_settings_save

    simulator_settings_save(workspace=customer.workspace, config={"manual_channels": ["voice"]})
    message_enqueue(
        workspace=customer.workspace,
        customer=customer,
        channel="voice",
        template_key="out_for_delivery_ivr",
        purpose="service",
        variables=ORDER,
        idempotency_key="call-1",
        at=NOON,
        kind="call",
    )
    outbox_dispatch(now=NOON + timedelta(seconds=1))
    return Message.objects.get(idempotency_key="call-1")


def test_answering_and_pressing_1_records_the_key_and_sends_the_follow_up(customer):
    ivr_menu_save(
        workspace=customer.workspace,
        key="out_for_delivery_ivr",
        language="en",
        greeting="Delivery call",
        actions={
            "1": {
                "action": "send",
                "channel": "sms",
                "template_key": "order_confirmation_sms",
                "label": "confirm",
            }
        },
    )
    message = placed_call(customer)
    simulator_post(
        workspace=customer.workspace,
        events=[event(customer, type="call", provider_id=message.provider_id, status="answered")],
    )
    answer = simulator_post(
        workspace=customer.workspace,
        events=[
            event(
                customer,
                type="keypress",
                provider_id=message.provider_id,
                digits="1",
                from_number=customer.phone,
            )
        ],
    )
    assert "SMS" in answer.ivr.say
    call = Call.objects.get(message=message)
    assert call.status == "answered" and call.keys == "1"
    press = Event.objects.get(name="call.keypress")
    assert press.properties["digit"] == "1" and press.properties["message_key"] == "call-1"
    follow_up = Message.objects.get(idempotency_key=f"ivr:{call.pk}:1")
    assert follow_up.channel == "sms" and "58821" in follow_up.rendered_text
    assert Event.objects.filter(name="call.answered").count() == 1


def test_pressing_the_agent_digit_flags_a_callback(customer):
    message = placed_call(customer)
    simulator_post(
        workspace=customer.workspace,
        events=[event(customer, type="keypress", provider_id=message.provider_id, digits="9")],
    )
    assert Event.objects.get(name="agent.requested").customer == customer
    assert Call.objects.get().outcome == "agent callback requested"


def order_event(customer, name="order.out_for_delivery"):
    events_ingest(workspace=customer.workspace, items=[{
        "event_id": "o1", "customer": {"external_id": customer.external_id}, "name": name,
        "properties": {"order_id": "58821", "eta": "6 PM"}}])  # fmt: skip


def test_an_inbound_call_hears_the_latest_order_context_and_counts_as_a_contact(customer):
    order_event(customer)
    answer = simulator_post(
        workspace=customer.workspace,
        events=[
            event(customer, type="inbound_call", provider_id="SIMCAin1", from_number=customer.phone)
        ],
    )
    assert answer.ivr.say.startswith(
        "Your order #58821 is out for delivery today, arriving by 6 PM"
    )
    assert Event.objects.get(name="inbound.call").customer == customer
    assert Call.objects.get().direction == "inbound"


def test_a_registered_context_provider_speaks_first(customer, monkeypatch):
    monkeypatch.setattr(ivr_context, "_PROVIDERS", [])
    ivr_context.ivr_context_register(lambda c: f"Hello {c.name}, your EMI is due tomorrow.")
    answer = simulator_post(
        workspace=customer.workspace,
        events=[
            event(customer, type="inbound_call", provider_id="SIMCAin2", from_number=customer.phone)
        ],
    )
    assert answer.ivr.say.startswith("Hello Asha Verma, your EMI is due tomorrow.")


def test_an_unknown_caller_gets_the_default_menu_over_twilio_twiml(customer, twilio_standin):
    account = twilio_account(customer.workspace, twilio_standin)
    order_event(customer)
    path = f"/webhooks/twilio/{account.pk}/voice/inbound/"
    form = {
        "CallSid": "CAin1",
        "From": "+919800000001",
        "To": "+15005550006",
        "Direction": "inbound",
    }
    signature = twilio_signature("http://testserver" + path, form, "tw-token-12345")
    response = Client().post(
        path,
        urlencode(form),
        HTTP_X_TWILIO_SIGNATURE=signature,
        content_type="application/x-www-form-urlencoded",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<Gather" in body and "Welcome" in body
    assert "58821" not in body
    known = dict(form, CallSid="CAin2", From=customer.phone)
    signature = twilio_signature("http://testserver" + path, known, "tw-token-12345")
    response = Client().post(
        path,
        urlencode(known),
        HTTP_X_TWILIO_SIGNATURE=signature,
        content_type="application/x-www-form-urlencoded",
    )
    assert "Your order #58821 is out for delivery today" in response.content.decode()
