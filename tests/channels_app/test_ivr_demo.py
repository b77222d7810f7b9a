# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures)
"""The IVR's demo data: menus in English and Hindi, the payment-link SMS and simulator settings,
seeded idempotently; pressing 1 on the EMI reminder call sends the link."""

from datetime import timedelta

import pytest

from channels_app.ivr.demo import demo_ivr_seed
from channels_app.ivr.menus import ivr_menu_save, menu_for
from channels_app.models import Call, IvrMenu, Message, Template
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.outbox.services import message_enqueue
from channels_app.outbox.simulated import simulator_post
from channels_app.providers.simulator import SimEvent
from channels_app.providers_console.services import simulator_config, simulator_settings_save
from console.demo import _SEEDERS
from tests.channels_app.outbox_fixtures import NOON, customer, seeded  # noqa: F401

pytestmark = pytest.mark.django_db
LOAN = {"loan_id": "LN482913", "emi_amount": "8450", "emi_due_date": "2026-03-13"}


def test_the_ivr_seeder_is_registered_and_idempotent_and_keeps_edits(workspace):
    assert "channels_app.ivr" in [name for name, _ in _SEEDERS]
    demo_ivr_seed(workspace)
    keys = set(IvrMenu.objects.values_list("key", "language"))
    assert {("emi_reminder_voice", "hi"), ("inbound", "en"), ("order_inbound", "hi")} <= keys
    ivr_menu_save(workspace=workspace, key="inbound", language="en", greeting="Edited.",
                  actions={"2": {"action": "agent"}})  # fmt: skip
    demo_ivr_seed(workspace)
    assert IvrMenu.objects.count() == len(keys)
    assert menu_for(workspace=workspace, key="inbound", language="en").greeting == "Edited."
    assert Template.objects.filter(key="payment_link_sms").count() == 1
    assert simulator_config(workspace=workspace).call_keypress_s == 20.0


def test_the_seeder_keeps_simulator_settings_an_operator_saved(workspace):
    simulator_settings_save(workspace=workspace, config={"call_answered": 1.0})
    demo_ivr_seed(workspace)
    assert simulator_config(workspace=workspace).call_answered == 1.0


def test_the_hindi_menu_speaks_hindi(workspace):
    demo_ivr_seed(workspace)
    menu = menu_for(workspace=workspace, key="emi_reminder_voice", language="hi")
    assert "दबाएँ" in menu.greeting and menu.actions["1"].template_key == "payment_link_sms"


def test_pressing_1_on_the_emi_reminder_call_sends_the_payment_link_sms(customer):
    demo_ivr_seed(customer.workspace)
    simulator_settings_save(workspace=customer.workspace, config={"manual_channels": ["voice"]})
    message_enqueue(
        workspace=customer.workspace, customer=customer, channel="voice",
        template_key="emi_reminder_voice", purpose="service", variables=LOAN,
        idempotency_key="emi-call", at=NOON, kind="call",
    )  # fmt: skip
    outbox_dispatch(now=NOON + timedelta(seconds=1))
    call_message = Message.objects.get(idempotency_key="emi-call")
    assert call_message.status == "sent", call_message.error_reason

    def sim(**fields):
        event = SimEvent(channel="voice", provider_id=call_message.provider_id,
                         at=NOON.isoformat(), from_number=customer.phone, **fields)  # fmt: skip
        return simulator_post(workspace=customer.workspace, events=[event])

    sim(type="call", status="answered", reference="emi-call")
    answer = sim(type="keypress", digits="1")
    assert answer.ivr.say == "Thank you. We are sending you a payment link by SMS now."
    call = Call.objects.get(message=call_message)
    link = Message.objects.get(idempotency_key=f"ivr:{call.pk}:1")
    assert link.template_key == "payment_link_sms" and link.status == "queued"
    assert "https://muzz.in/pay" in link.rendered_text and "LN482913" in link.rendered_text
