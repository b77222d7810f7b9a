"""Shared data for the outbox tests: a customer with consent and the demo templates."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from channels_app.consent.services import consent_grant
from channels_app.tmpl.demo import demo_templates_seed
from console.models import Customer

IST = ZoneInfo("Asia/Kolkata")
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=IST)
ORDER = {
    "order_id": "58821",
    "amount": "1299",
    "courier": "Delhivery",
    "delivery_date": "2026-03-12",
}


def customer_make(workspace, external_id="c-1", phone="+919812345678", **extra) -> Customer:
    customer = Customer.objects.create(
        workspace=workspace,
        external_id=external_id,
        name="Asha Verma",
        phone=phone,
        whatsapp=True,
        **extra,
    )
    for channel in ("sms", "whatsapp", "voice"):
        for purpose in ("transactional", "service", "promotional"):
            consent_grant(
                customer=customer,
                channel=channel,
                purpose=purpose,
                source="api",
                proof="signup form",
                at=datetime(2026, 1, 1, tzinfo=IST),
            )
    return customer


@pytest.fixture
def seeded(workspace):
    demo_templates_seed(workspace)
    return workspace


@pytest.fixture
def customer(seeded):
    return customer_make(seeded)


def twilio_account(workspace, standin, channels=("sms", "whatsapp", "voice"), **extra):
    from channels_app.providers_console.services import provider_account_save, route_set

    account = provider_account_save(
        workspace=workspace,
        kind="twilio",
        name="Twilio India",
        credentials={
            "account_sid": standin.account_sid,
            "auth_token": standin.auth_token,
            "sms_from": "+15005550006",
            "whatsapp_from": "+14155238886",
            "voice_from": "+15005550006",
            "base_url": standin.url,
        },
        **extra,
    )
    for channel in channels:
        route_set(workspace=workspace, channel=channel, account=account)
    return account


def sms_send_args(customer, key="run:1:node:send1:1", at=None, **kw) -> dict:
    """The arguments of one order-confirmation SMS send (``message_enqueue``, ``message_draft``,
    an item of ``messages_enqueue_bulk``); ``kw`` overrides any of them."""
    args = dict(
        workspace=customer.workspace,
        customer=customer,
        channel="sms",
        template_key="order_confirmation_sms",
        purpose="transactional",
        variables=ORDER,
        idempotency_key=key,
        run_id=1,
        node_id="send1",
        at=at or NOON,
    )
    args.update(kw)
    return args


def sms_enqueue(customer, key="run:1:node:send1:1", at=None, **kw):
    from channels_app.outbox.services import message_enqueue

    return message_enqueue(**sms_send_args(customer, key, at, **kw))
