"""Seeds 1 and 2 end to end with the database and a frozen clock, per customer profile."""

from datetime import timedelta

import pytest

from channels_app.models.outbox import Message
from journeys.demo import seed_journeys_publish
from journeys.models import Journey, Run
from journeys.tasks import runs_due_sweep
from tests.journeys.conftest import feed, send_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeds(templates, clock, engine_sync):
    seed_journeys_publish(templates)
    return {j.gallery_slug: j for j in Journey.objects.filter(workspace=templates)}


def sent(customer):
    """Messages as (channel, template, status), feeding `message.sent` for each queued one."""
    out = []
    for message in Message.objects.filter(customer=customer).order_by("id"):
        if message.status == "queued":
            feed(message, "sent")
        out.append((message.channel, message.template_key, message.status))
    return out


def order_run(seeds, customer):
    return Run.objects.get(journey=seeds["ecommerce-order-to-reengagement"], customer=customer)


def test_whatsapp_customer_with_promo_consent_gets_confirmation_dispatch_and_the_offer(
    seeds, make_customer, clock
):
    customer = make_customer(promotional=True)
    send_event(customer, "order.placed", order_id="58821", amount="1499")
    sent(customer)
    assert sent(customer) == [("sms", "order_confirmation_sms", "queued")]
    send_event(
        customer,
        "order.dispatched",
        order_id="58821",
        courier="BlueDart",
        delivery_date="2031-01-02",
    )
    sent(customer)
    assert sent(customer)[1:] == [("whatsapp", "dispatch_whatsapp", "queued")]
    send_event(customer, "order.delivered", order_id="58821")
    sent(customer)
    run = order_run(seeds, customer)
    assert run.node_id == "wait_3d" and run.goal_reached_at is not None
    clock.advance(days=3, minutes=1)
    runs_due_sweep(seconds=0)
    assert sent(customer)[2:] == [("sms", "return10_promo_sms", "queued")]
    run.refresh_from_db()
    assert run.status == "completed" and run.steps.filter(node_id="promo", port="sent").exists()


def test_customer_without_whatsapp_gets_the_dispatch_by_sms_and_no_offer_without_consent(
    seeds, make_customer, clock
):
    customer = make_customer(whatsapp=False)
    send_event(customer, "order.placed", order_id="1", amount="99")
    sent(customer)
    send_event(
        customer, "order.dispatched", order_id="1", courier="Delhivery", delivery_date="2031-01-02"
    )
    sent(customer)
    send_event(customer, "order.delivered", order_id="1")
    sent(customer)
    clock.advance(days=3, minutes=1)
    runs_due_sweep(seconds=0)
    assert [m[:2] for m in sent(customer)] == [
        ("sms", "order_confirmation_sms"),
        ("sms", "dispatch_sms"),
    ]
    run = order_run(seeds, customer)
    assert run.status == "completed" and run.steps.get(node_id="promo_ok").port == "no"


def test_a_customer_who_calls_in_misses_the_goal(seeds, make_customer):
    customer = make_customer(whatsapp=False)
    send_event(customer, "order.placed", order_id="7", amount="99")
    sent(customer)
    send_event(customer, "inbound.call", source="channel")
    sent(customer)
    send_event(customer, "order.delivered", order_id="7")
    sent(customer)
    run = order_run(seeds, customer)
    assert run.goal_reached_at is None and "inbound.call" in run.state["seen"]


def test_an_order_for_another_id_does_not_move_the_run(seeds, make_customer):
    customer = make_customer()
    send_event(customer, "order.placed", order_id="A", amount="99")
    sent(customer)
    send_event(customer, "order.dispatched", order_id="B", courier="X", delivery_date="2031-01-02")
    sent(customer)
    assert order_run(seeds, customer).node_id == "wait_dispatch"


def loan_run(seeds, customer):
    return Run.objects.get(journey=seeds["nbfc-loan-to-emi"], customer=customer)


def approve(customer, clock, due_in_days=10):
    due = (clock.now + timedelta(days=due_in_days)).date().isoformat()
    send_event(customer, "loan.approved", loan_id="LN9", loan_amount="250000", emi_amount="8450",
               tenure_months="36", emi_due_date=due)  # fmt: skip


def test_borrower_gets_whatsapp_then_sms_approval_then_a_call_3_days_before_the_emi(
    seeds, make_customer, clock
):
    customer = make_customer()
    send_event(customer, "loan.application_received", loan_id="LN9")
    sent(customer)
    assert sent(customer) == [("whatsapp", "loan_received_whatsapp", "queued")]
    approve(customer, clock)
    sent(customer)
    assert sent(customer)[1:] == [("sms", "loan_approved_sms", "queued")]
    run = loan_run(seeds, customer)
    assert run.node_id == "wait_emi"
    clock.advance(days=7, hours=1)
    runs_due_sweep(seconds=0)
    call = Message.objects.get(customer=customer, channel="voice")
    assert call.template_key == "emi_reminder_voice" and call.kind == "call"
    feed(call, "sent")
    feed(call, "call.keypress", digit="1")
    send_event(customer, "payment.received", loan_id="LN9", amount="8450", payment_id="PAY-1")
    sent(customer)
    assert sent(customer)[-1] == ("whatsapp", "payment_receipt_whatsapp", "queued")
    run.refresh_from_db()
    assert run.goal_reached_at is not None


def test_borrower_who_pays_before_the_reminder_is_never_called(seeds, make_customer, clock):
    customer = make_customer()
    send_event(customer, "loan.application_received", loan_id="LN9")
    sent(customer)
    approve(customer, clock)
    sent(customer)
    send_event(customer, "payment.received", loan_id="LN9", amount="8450", payment_id="PAY-2")
    sent(customer)
    clock.advance(days=10)
    runs_due_sweep(seconds=0)
    assert not Message.objects.filter(customer=customer, channel="voice").exists()
    assert loan_run(seeds, customer).steps.filter(node_id="receipt").exists()


def test_a_rejected_loan_exits_wherever_the_run_is(seeds, make_customer):
    customer = make_customer()
    send_event(customer, "loan.application_received", loan_id="LN9")
    sent(customer)
    send_event(customer, "loan.rejected", loan_id="LN9")
    sent(customer)
    run = loan_run(seeds, customer)
    assert run.status == "exited" and run.reason == "exit: loan rejected"
