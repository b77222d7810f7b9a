# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""The phone view: a customer's threads, and actions that travel the simulator webhook path."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Call, Message
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.outbox.services import message_enqueue
from console.models import Event
from tests.channels_app.outbox_fixtures import NOON, ORDER, customer, seeded  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_phone_shows_the_sms_sender_header_and_whatsapp_buttons(client_as, customer):
    for channel, key in (("sms", "order_confirmation_sms"), ("whatsapp", "dispatch_whatsapp")):
        message_enqueue(
            workspace=customer.workspace,
            customer=customer,
            channel=channel,
            template_key=key,
            purpose="service",
            variables=ORDER,
            idempotency_key=key,
            at=NOON,
        )
    outbox_dispatch(now=NOON + timedelta(seconds=1))
    page = client_as("operations").get(f"/channels/phone/?customer={customer.phone}")
    html = page.content.decode()
    assert "-MUZZTK-" in html and "Need help?" in html and "Order #58821 is on its way" in html


def test_a_reply_from_the_phone_goes_through_the_webhook_and_opens_the_window(client_as, customer):
    client = client_as("operations")
    response = client.post(
        f"/channels/phone/{customer.pk}/act/",
        {"action": "reply", "channel": "whatsapp", "text": "Hi there"},
    )
    assert response.status_code == 302
    event = Event.objects.get(name="inbound.message")
    assert event.properties["text"] == "Hi there" and event.properties["provider"] == "simulator"


def test_tapping_a_button_reports_the_click(client_as, customer):
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
    outbox_dispatch(now=NOON + timedelta(seconds=1))
    sent = Message.objects.get()
    client_as("operations").post(
        f"/channels/phone/{customer.pk}/act/",
        {"action": "tap", "message": sent.pk, "payload": "Need help?"},
    )
    assert Event.objects.get(name="message.clicked").properties["button"] == "Need help?"


def test_calling_the_business_is_an_inbound_call_and_bad_actions_name_the_field(
    client_as, customer
):
    client = client_as("operations")
    client.post(f"/channels/phone/{customer.pk}/act/", {"action": "call_in"})
    assert Call.objects.get().direction == "inbound"
    assert Event.objects.filter(name="inbound.call").count() == 1
    bad = client.post(
        f"/channels/phone/{customer.pk}/act/",
        {"action": "reply", "text": ""},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400 and "text: type a reply first" in bad.content.decode()


def test_a_viewer_can_look_but_not_act(client_as, customer):
    viewer = client_as("viewer")
    assert viewer.get(f"/channels/phone/?customer={customer.pk}").status_code == 200
    assert (
        viewer.post(f"/channels/phone/{customer.pk}/act/", {"action": "call_in"}).status_code == 403
    )


def test_without_a_customer_the_phone_lists_those_the_business_just_reached(
    client_as, customer, other_workspace
):
    from tests.channels_app.outbox_fixtures import customer_make

    empty = client_as("operations").get("/channels/phone/").content.decode()
    assert "Nothing has been sent yet" in empty
    message_enqueue(
        workspace=customer.workspace, customer=customer, channel="sms",
        template_key="order_confirmation_sms", purpose="service", variables=ORDER,
        idempotency_key="k1", at=NOON,
    )  # fmt: skip
    stranger = customer_make(other_workspace, external_id="x", phone="+919800000077")
    Message.objects.create(workspace=other_workspace, customer=stranger, channel="sms",
                           idempotency_key="theirs", status="sent", created_at=NOON,
                           status_at=NOON)  # fmt: skip
    html = client_as("operations").get("/channels/phone/").content.decode()
    assert f'href="/channels/phone/?customer={customer.pk}"' in html
    assert "order_confirmation_sms" in html and "+919800000077" not in html


def test_a_key_that_ends_the_call_hangs_up_and_the_last_words_stay_readable(client_as, customer):
    from channels_app.ivr.demo import demo_ivr_seed

    demo_ivr_seed(customer.workspace)
    client = client_as("operations")
    client.post(f"/channels/phone/{customer.pk}/act/", {"action": "call_in"})
    call = Call.objects.get()
    press = {"action": "key", "call": call.pk, "digit": "2"}
    page = client.post(f"/channels/phone/{customer.pk}/act/", press, HTTP_HX_REQUEST="true")
    call.refresh_from_db()
    assert call.status == "completed" and call.keys == "2"
    html = page.content.decode()
    assert "Last heard: “Thank you. Someone from Muzz will call you back shortly.”" in html
    assert 'id="live-call"' not in html and "Call the business" in html
    assert Event.objects.filter(name="call.completed", customer=customer).count() == 1


def test_the_channels_home_counts_what_was_sent_in_the_last_day(client_as, customer):
    message_enqueue(
        workspace=customer.workspace, customer=customer, channel="sms",
        template_key="order_confirmation_sms", purpose="service", variables=ORDER,
        idempotency_key="k1", at=timezone.now() - timedelta(seconds=2),
    )  # fmt: skip
    outbox_dispatch()
    html = client_as("operations").get("/channels/").content.decode()
    assert "sent, last 24 h" in html
    assert '<span class="value">1</span>' in html
