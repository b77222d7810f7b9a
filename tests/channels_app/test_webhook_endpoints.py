# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""Webhook endpoints: signatures for all providers (tampered -> 403, nothing stored), duplicates,
out-of-order statuses, parked statuses, inbound messages, keywords and button taps."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client

from channels_app.models import Message, PendingStatus, WebhookReceipt
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.outbox.simulated import simulator_post
from channels_app.providers.base import WebhookRequest
from channels_app.providers.meta import meta_signature
from channels_app.providers.simulator import SimEvent
from channels_app.providers.twilio import twilio_signature
from channels_app.providers_console.services import provider_account_save
from channels_app.webhooks.services import webhook_receive
from console.models import Event
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    NOON,
    customer,
    seeded,
    sms_enqueue,
    twilio_account,
)
from tests.channels_app.test_provider_twilio import (
    VECTOR_PARAMS,
    VECTOR_SIGNATURE,
    VECTOR_URL,
)
from tests.standins.fixtures import twilio_standin  # noqa: F401

pytestmark = pytest.mark.django_db
SOON = NOON + timedelta(seconds=1)


def sent_sms(customer, standin):
    account = twilio_account(customer.workspace, standin)
    sms_enqueue(customer)
    outbox_dispatch(now=SOON)
    return account, Message.objects.get()


def twilio_post(client, account, form, *, token=None, tamper=False, query=""):
    path = f"/webhooks/twilio/{account.pk}/status/" + (f"?{query}" if query else "")
    signature = twilio_signature("http://testserver" + path, form, token or "tw-token-12345")
    body = dict(form, MessageStatus="delivered") if tamper else form
    return client.post(
        path,
        urlencode(body),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def status_form(message, status):
    return {"MessageSid": message.provider_id, "MessageStatus": status, "AccountSid": "AC"}


def test_a_signed_twilio_status_is_applied_once_and_a_redelivery_is_a_2xx_duplicate(
    customer, twilio_standin
):
    account, message = sent_sms(customer, twilio_standin)
    client = Client()
    for _ in range(3):
        assert twilio_post(client, account, status_form(message, "delivered")).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert Event.objects.filter(name="message.delivered").count() == 1
    assert WebhookReceipt.objects.count() == 1


def test_a_tampered_twilio_body_is_rejected_and_nothing_is_stored(customer, twilio_standin, caplog):
    account, message = sent_sms(customer, twilio_standin)
    response = twilio_post(Client(), account, status_form(message, "failed"), tamper=True)
    assert response.status_code == 403
    assert WebhookReceipt.objects.count() == 0
    message.refresh_from_db()
    assert message.status == "sent"
    assert any("signature rejected" in r.getMessage() for r in caplog.records)


def test_statuses_out_of_order_never_move_backwards(customer, twilio_standin):
    account, message = sent_sms(customer, twilio_standin)
    client = Client()
    twilio_post(client, account, status_form(message, "delivered"))
    twilio_post(client, account, status_form(message, "sent"))
    twilio_post(client, account, status_form(message, "queued"))
    message.refresh_from_db()
    assert message.status == "delivered"
    names = list(Event.objects.order_by("id").values_list("name", flat=True))
    assert names == ["message.sent", "message.delivered"]


def test_a_status_for_an_unknown_send_is_parked_then_applied_when_it_appears(
    customer, twilio_standin
):
    account = twilio_account(customer.workspace, twilio_standin)
    form = {"MessageSid": "SMearly", "MessageStatus": "delivered"}
    query = "sangam_ref=run%3A1%3Anode%3Asend1%3A1"
    assert twilio_post(Client(), account, form, query=query).status_code == 200
    assert PendingStatus.objects.count() == 1
    sms_enqueue(customer)  # the message appears (and is sent) only now
    outbox_dispatch(now=SOON)
    message = Message.objects.get()
    assert message.status == "delivered" and PendingStatus.objects.count() == 0
    assert Event.objects.filter(name="message.delivered").count() == 1


def test_malformed_twilio_status_is_a_400(customer, twilio_standin):
    account = twilio_account(customer.workspace, twilio_standin)
    response = twilio_post(Client(), account, {"Foo": "bar"})
    assert response.status_code == 400 and WebhookReceipt.objects.count() == 0


def vector_account(workspace):
    """A Twilio account whose auth token is the published vector's (``12345``)."""
    return provider_account_save(
        workspace=workspace, kind="twilio", name="Twilio vector",
        credentials={"account_sid": "AC1", "auth_token": "12345", "voice_from": "+18005551212"},
    )  # fmt: skip


def vector_request(params, url=VECTOR_URL):
    return WebhookRequest(
        url=url,
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "X-Twilio-Signature": VECTOR_SIGNATURE},
        raw_body=urlencode(params).encode(), form=params,
    )  # fmt: skip


def test_the_published_twilio_vector_passes_our_webhook_verification_and_is_stored(customer):
    account = vector_account(customer.workspace)
    answer = webhook_receive(
        kind="twilio", owner_id=account.pk, endpoint="voice/gather",
        request=vector_request(VECTOR_PARAMS),
    )  # fmt: skip
    assert answer.status == 200
    receipt = WebhookReceipt.objects.get()
    assert receipt.url == VECTOR_URL and receipt.processed_at is not None


@pytest.mark.parametrize(
    "params, url",
    [
        ({**VECTOR_PARAMS, "Digits": "1235"}, VECTOR_URL),
        ({**VECTOR_PARAMS, "Caller": "+12349013031"}, VECTOR_URL),
        (VECTOR_PARAMS, VECTOR_URL.replace("bar=2", "bar=3")),
    ],
)
def test_a_tampered_vector_parameter_is_a_403_and_nothing_is_stored(customer, params, url, caplog):
    account = vector_account(customer.workspace)
    answer = webhook_receive(
        kind="twilio", owner_id=account.pk, endpoint="voice/gather",
        request=vector_request(params, url),
    )  # fmt: skip
    assert answer.status == 403
    assert not WebhookReceipt.objects.exists() and not Event.objects.exists()
    assert any("signature rejected" in r.getMessage() for r in caplog.records)


def test_the_vector_parameters_over_http_pass_signed_and_fail_tampered(customer):
    account = vector_account(customer.workspace)
    path = f"/webhooks/twilio/{account.pk}/voice/gather/?foo=1&bar=2"
    signature = twilio_signature("http://testserver" + path, VECTOR_PARAMS, "12345")

    def post(form):
        return Client().post(path, urlencode(form), HTTP_X_TWILIO_SIGNATURE=signature,
                             content_type="application/x-www-form-urlencoded")  # fmt: skip

    assert post({**VECTOR_PARAMS, "Digits": "9"}).status_code == 403
    assert not WebhookReceipt.objects.exists()
    response = post(VECTOR_PARAMS)
    assert response.status_code == 200 and "<Response>" in response.content.decode()
    assert WebhookReceipt.objects.count() == 1


def meta_account(workspace):
    return provider_account_save(
        workspace=workspace, kind="meta", name="Meta",
        credentials={"access_token": "EAAG-test-token", "phone_number_id": "106540352242922",
                     "app_secret": "meta-app-secret", "verify_token": "verify-me-please"},
    )  # fmt: skip


def test_meta_handshake_and_signed_inbound_opens_the_window(customer):
    account = meta_account(customer.workspace)
    client = Client()
    ok = client.get(
        f"/webhooks/meta/{account.pk}/",
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me-please", "hub.challenge": "42"},
    )
    assert ok.status_code == 200 and ok.content == b"42"
    bad = client.get(
        f"/webhooks/meta/{account.pk}/",
        {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"},
    )
    assert bad.status_code == 403
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messages": [
                                    {
                                        "id": "wamid.1",
                                        "from": "919812345678",
                                        "timestamp": "1773124200",
                                        "type": "text",
                                        "text": {"body": "Where is my order?"},
                                    }
                                ]
                            },
                        }
                    ]
                }
            ],
        }
    )
    tampered = client.post(
        f"/webhooks/meta/{account.pk}/",
        body.replace("order", "refund"),
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=meta_signature(body.encode(), "meta-app-secret"),
    )
    assert tampered.status_code == 403 and WebhookReceipt.objects.count() == 0
    good = client.post(
        f"/webhooks/meta/{account.pk}/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=meta_signature(body.encode(), "meta-app-secret"),
    )
    assert good.status_code == 200
    event = Event.objects.get(name="inbound.message")
    assert event.customer == customer and event.properties["channel"] == "whatsapp"


def test_exotel_callbacks_need_the_account_token(customer):
    account = provider_account_save(
        workspace=customer.workspace, kind="exotel", name="Exotel",
        credentials={"api_key": "k", "api_token": "t", "account_sid": "muzz1",
                     "webhook_token": "exo-token-0123456789"},
    )  # fmt: skip
    client = Client()
    form = {"SmsSid": "exo1", "Status": "sent", "CustomField": "nobody"}
    base = f"/webhooks/exotel/{account.pk}/sms-status/"
    wrong = client.post(base + "?sangam_token=guess", form)
    assert wrong.status_code == 403 and WebhookReceipt.objects.count() == 0
    right = client.post(base + "?sangam_token=exo-token-0123456789", form)
    assert right.status_code == 200 and PendingStatus.objects.count() == 1


def sim(customer, **fields):
    base = dict(
        provider_id="SIMin1",
        channel="sms",
        at=NOON.isoformat(),
        from_number=customer.phone,
        type="message",
    )
    base.update(fields)
    return simulator_post(workspace=customer.workspace, events=[SimEvent(**base)])


def test_the_simulator_endpoint_rejects_a_wrong_signature(customer):
    response = Client().post(
        f"/webhooks/simulator/{customer.workspace.pk}/",
        b'{"events":[]}',
        content_type="application/json",
        HTTP_X_SANGAM_SIGNATURE="sha256=00",
    )
    assert response.status_code == 403


def test_stop_withdraws_promotional_consent_and_queues_the_confirmation(customer):
    sim(customer, text="STOP")
    event = Event.objects.get(name="inbound.message")
    assert event.properties["keyword"] == "withdraw"
    confirmation = Message.objects.get()
    assert confirmation.status == "queued" and "START" in confirmation.rendered_text


def test_a_button_tap_reports_clicked_and_replied_on_the_message(customer):
    from channels_app.outbox.services import message_enqueue
    from tests.channels_app.outbox_fixtures import ORDER

    message_enqueue(
        workspace=customer.workspace,
        customer=customer,
        channel="whatsapp",
        template_key="dispatch_whatsapp",
        purpose="service",
        variables=ORDER,
        idempotency_key="wa-1",
        at=NOON,
    )
    outbox_dispatch(now=SOON)
    sent = Message.objects.get()
    sim(
        customer,
        provider_id="SIMin2",
        channel="whatsapp",
        text="Need help?",
        button_payload="Need help?",
        button_title="Need help?",
        context_id=sent.provider_id,
    )
    sent.refresh_from_db()
    assert sent.status == "replied"
    clicked = Event.objects.get(name="message.clicked")
    assert clicked.properties["button"] == "Need help?"
    assert clicked.properties["message_key"] == "wa-1"
    assert Event.objects.filter(name="message.replied").count() == 1
