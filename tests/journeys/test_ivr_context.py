"""Inbound callers hear their open journey's context first: the order a live seed journey follows
(with its latest status) or the EMI of a payment reminder, and get the menu that fits it."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from channels_app.ivr.context import caller_context_full
from channels_app.ivr.demo import demo_ivr_seed
from channels_app.models import Call, Message
from channels_app.outbox.simulated import simulator_post
from channels_app.providers.simulator import SimEvent
from channels_app.providers.twilio import twilio_signature
from channels_app.providers_console.services import provider_account_save
from console.models import Event
from journeys.demo import seed_journeys_publish
from journeys.ivr_context import journey_caller_context, rupees
from journeys.models import Run
from tests.journeys.conftest import send_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(templates, clock, engine_sync):
    seed_journeys_publish(templates)
    demo_ivr_seed(templates)
    return templates


def call_in(customer, call_id="SIMCAin1"):
    event = SimEvent(type="inbound_call", provider_id=call_id, channel="voice",
                     from_number=customer.phone, at=timezone.now().isoformat())  # fmt: skip
    return simulator_post(workspace=customer.workspace, events=[event]).ivr


def press(customer, digit, call_id="SIMCAin1"):
    event = SimEvent(type="keypress", provider_id=call_id, channel="voice", digits=digit,
                     from_number=customer.phone, at=timezone.now().isoformat())  # fmt: skip
    return simulator_post(workspace=customer.workspace, events=[event]).ivr


def test_a_caller_with_an_order_in_a_live_seed_journey_hears_its_status_first(live, make_customer):
    customer = make_customer()
    send_event(customer, "order.placed", order_id="58821", amount="1499")
    send_event(customer, "order.dispatched", order_id="58821", courier="BlueDart",
               delivery_date="2031-01-02")  # fmt: skip
    send_event(customer, "order.out_for_delivery", order_id="58821", eta="6 PM")
    assert Run.objects.get(customer=customer).status in ("active", "waiting")

    answer = call_in(customer)
    assert answer.say == (
        "Your order #58821 is out for delivery today, arriving by 6 PM. "
        "Press 1 to add delivery instructions, or press 2 to talk to us."
    )
    assert answer.menu == {"1": "delivery instructions", "2": "talk to us"}
    follow = press(customer, "1")
    assert "delivery partner will call you" in follow.say
    assert Event.objects.filter(customer=customer, name="agent.requested").count() == 1
    assert Event.objects.filter(customer=customer, name="inbound.call").count() == 1


def test_an_order_only_placed_is_confirmed_and_another_orders_events_are_ignored(
    live, make_customer
):
    customer = make_customer()
    send_event(customer, "order.placed", order_id="58821", amount="1499")
    send_event(customer, "order.out_for_delivery", order_id="11111", eta="noon")
    assert caller_context_full(customer).text == "Your order #58821 is confirmed."


def test_a_borrower_with_an_emi_due_hears_it_over_twilio_and_1_sends_the_link(
    live, make_customer, clock
):
    customer = make_customer()
    due = (clock.now + timedelta(days=3)).date()
    send_event(customer, "payment.due", loan_id="LN9", emi_amount="8450",
               emi_due_date=due.isoformat())  # fmt: skip
    account = provider_account_save(
        workspace=live, kind="twilio", name="Twilio",
        credentials={"account_sid": "AC1", "auth_token": "tok-12345", "voice_from": "+15005550006"},
    )  # fmt: skip

    def post(endpoint, form, query=""):
        path = f"/webhooks/twilio/{account.pk}/{endpoint}/" + query
        signature = twilio_signature("http://testserver" + path, form, "tok-12345")
        return Client().post(path, urlencode(form), HTTP_X_TWILIO_SIGNATURE=signature,
                             content_type="application/x-www-form-urlencoded")  # fmt: skip

    form = {"CallSid": "CAemi", "From": customer.phone, "To": "+15005550006"}
    twiml = post("voice/inbound", form).content.decode()
    assert f"Your EMI of ₹8,450 for loan LN9 is due on {due.day} {due:%B}." in twiml
    assert "Press 1 to get a payment link by SMS" in twiml
    call = Call.objects.get(provider_call_id="CAemi")
    response = post("voice/gather", {**form, "Digits": "1"}, query=f"?call={call.pk}")
    assert "payment link by SMS" in response.content.decode()
    link = Message.objects.get(customer=customer, template_key="payment_link_sms")
    assert link.status == "queued" and "LN9" in link.rendered_text
    assert "https://muzz.in/pay" in link.rendered_text


def test_a_caller_without_an_open_run_gets_nothing_from_the_journeys(live, make_customer):
    customer = make_customer()
    assert journey_caller_context(customer) is None


def test_rupees_use_indian_grouping():
    assert [rupees(v) for v in (950, "8450", 125000, 10000000)] == [
        "₹950", "₹8,450", "₹1,25,000", "₹1,00,00,000"
    ]  # fmt: skip
