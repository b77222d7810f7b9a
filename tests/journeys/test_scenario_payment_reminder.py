"""Seed 3, payment reminder with fallback, end to end with the database and a frozen clock:
events through the API path, messages through the outbox, outcomes fed back as channel events."""

import pytest

from channels_app.models.outbox import Message
from journeys.demo import seed_journeys_publish
from journeys.models import Journey, Run
from journeys.tasks import runs_due_sweep
from tests.journeys.conftest import feed, send_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def reminder(templates, clock, engine_sync):
    seed_journeys_publish(templates)
    return Journey.objects.get(workspace=templates, gallery_slug="payment-reminder-fallback")


def due(customer, loan="LN1"):
    return send_event(
        customer, "payment.due", loan_id=loan, emi_amount="8450", emi_due_date="2031-12-10"
    )


def treated(make_customer, **kwargs):
    """A customer whose first run is not in the 10% holdout (holdout is chosen from the run id)."""
    while True:
        customer = make_customer(**kwargs)
        due(customer)
        run = Run.objects.get(customer=customer)
        if not run.holdout:
            return customer, run
        Run.objects.filter(pk=run.pk).delete()
        Message.objects.filter(customer=customer).delete()


def messages(customer):
    return [
        (m.channel, m.template_key, m.status)
        for m in Message.objects.filter(customer=customer).order_by("id")
    ]


def path(run):
    return [(s.node_id, s.port) for s in run.steps.order_by("id")]


def test_reader_who_pays_gets_only_the_whatsapp_reminder(reminder, make_customer, clock):
    customer, run = treated(make_customer)
    assert messages(customer) == [("whatsapp", "payment_reminder_whatsapp", "queued")]
    message = Message.objects.get(customer=customer)
    feed(message, "sent")
    clock.advance(hours=2)
    feed(message, "read")
    send_event(customer, "payment.received", loan_id="LN1", amount="8450")
    run.refresh_from_db()
    assert run.status == "completed"
    assert path(run) == [
        ("trigger", "out"),
        ("whatsapp", "sent"),
        ("wait_read", "matched"),
        ("wait_payment", ""),
    ]
    assert run.steps.last().reason == "goal: payment.received"
    assert len(messages(customer)) == 1


def test_unread_whatsapp_falls_back_to_sms_after_24h(reminder, make_customer, clock):
    customer, run = treated(make_customer)
    feed(Message.objects.get(customer=customer), "sent")
    clock.advance(hours=24, minutes=1)
    runs_due_sweep(seconds=0)
    assert [m[:2] for m in messages(customer)] == [
        ("whatsapp", "payment_reminder_whatsapp"),
        ("sms", "payment_reminder_sms"),
    ]
    run.refresh_from_db()
    step = run.steps.get(node_id="wait_read")
    assert step.port == "timeout" and step.reason == "fallback: WhatsApp unread after 24h"


def test_no_whatsapp_consent_skips_to_sms_at_once(reminder, make_customer):
    customer, run = treated(make_customer, consent=("sms", "voice"))
    assert [m[:2] + (m[2],) for m in messages(customer)] == [
        ("whatsapp", "payment_reminder_whatsapp", "blocked"),
        ("sms", "payment_reminder_sms", "queued"),
    ]
    step = run.steps.get(node_id="whatsapp")
    assert step.port == "skipped" and step.reason == "skipped: no WhatsApp consent"


def test_no_payment_in_48h_brings_the_voice_bot_and_a_keypress_routes_it(
    reminder, make_customer, clock
):
    customer, run = treated(make_customer)
    feed(Message.objects.get(customer=customer), "sent")
    clock.advance(hours=24, minutes=1)
    runs_due_sweep(seconds=0)
    feed(Message.objects.get(customer=customer, channel="sms"), "sent")
    clock.advance(hours=48, minutes=1)
    runs_due_sweep(seconds=0)
    call = Message.objects.get(customer=customer, channel="voice")
    assert call.template_key == "emi_reminder_voice" and call.kind == "call"
    feed(call, "message.sent")
    feed(call, "call.keypress", digit="2")
    run.refresh_from_db()
    assert run.node_id == "wait_after_call"
    assert ("voice", "2") in path(run)
    send_event(customer, "payment.received", loan_id="LN1")
    run.refresh_from_db()
    assert run.status == "completed"


def test_holdout_runs_get_nothing_but_reach_the_goal(reminder, make_customer):
    held = None
    for _ in range(80):
        customer = make_customer()
        due(customer)
        run = Run.objects.get(customer=customer)
        if run.holdout:
            held = (customer, run)
            break
    assert held is not None, "no holdout run in 80 tries at 10%"
    customer, run = held
    assert messages(customer) == []
    assert run.steps.get(node_id="whatsapp").reason == "holdout: not sent"
    send_event(customer, "payment.received", loan_id="LN1")
    run.refresh_from_db()
    assert run.status == "completed"


def test_a_payment_for_another_loan_leaves_the_run_waiting(reminder, make_customer):
    customer, run = treated(make_customer)
    send_event(customer, "payment.received", loan_id="LN-OTHER")
    run.refresh_from_db()
    assert run.status == "waiting"


def test_a_replayed_event_batch_writes_no_second_run_step_or_message(reminder, make_customer):
    from journeys.services import events_process

    customer, run = treated(make_customer)
    event_id = run.enrol_key.removeprefix("event:")
    steps, msgs = run.steps.count(), Message.objects.filter(customer=customer).count()
    events_process(event_ids=[int(event_id)])
    events_process(event_ids=[int(event_id)])
    assert Run.objects.filter(customer=customer).count() == 1
    assert run.steps.count() == steps
    assert Message.objects.filter(customer=customer).count() == msgs


def test_an_outcome_nobody_waits_for_stays_queued_and_counts_at_the_next_wake(
    reminder, make_customer, clock
):
    """A reply to the WhatsApp reminder does not move a run that waits for the payment event:
    no advance now (its wake-up stays), the input is kept, and the next wake takes it in time
    order, so the run's message record has it when the payment completes the run."""
    from journeys.models import RunInput

    customer, run = treated(make_customer)
    message = Message.objects.get(customer=customer)
    feed(message, "sent")
    feed(message, "read")
    run.refresh_from_db()
    assert run.node_id == "wait_payment" and run.message_key == ""
    wake, steps_before = run.due_at, run.steps.count()
    feed(message, "replied", text="Paid already")
    run.refresh_from_db()
    assert run.due_at == wake and run.steps.count() == steps_before
    assert RunInput.objects.filter(run=run, kind="message").count() == 1
    send_event(customer, "payment.received", loan_id="LN1", amount="8450")
    run.refresh_from_db()
    assert run.status == "completed"
    assert not RunInput.objects.filter(run=run).exists()
    record = next(iter(run.state["messages"].values()))
    assert record["statuses"][-1] == "replied"


def test_a_run_whose_key_a_racing_worker_took_first_writes_nothing_the_others_start(
    reminder, make_customer, clock, monkeypatch
):
    """Runs are inserted in the state their first advance reached, and their sends are written
    only once the row landed: a run refused by the one-active-run rule at insert time (a racing
    worker stored it after this batch read the customer's runs) leaves no row, step or message,
    and the batch's other run starts as usual."""
    from journeys.services import enrolment
    from journeys.services.enrolment import Enrolment, runs_enrol
    from journeys.services.stepping import customer_views

    racer, other = make_customer(), make_customer()
    due(racer, loan="LN9")
    taken = Run.objects.get(customer=racer)
    msgs_before = Message.objects.count()
    monkeypatch.setattr(enrolment, "_priors", lambda journey, ids: {i: [] for i in ids})
    version = reminder.versions.get(number=reminder.current_version)
    event = enrolment.EventInput("payment.due", clock.now, {"loan_id": "LN9", "emi_amount": "1",
                                                           "emi_due_date": "2031-12-10"})  # fmt: skip
    items = [Enrolment(c, f"test:{c.pk}", event=event) for c in (racer, other)]
    result = runs_enrol(version=version, items=items, now=clock.now,
                        views=customer_views([racer, other], clock.now))  # fmt: skip
    assert [run.customer_id for run in result.runs] == [other.pk]
    assert list(Run.objects.filter(customer=racer)) == [taken]
    started = Run.objects.get(customer=other)
    assert started.steps.count() >= 1 and started.state["node_id"] == started.node_id
    new = Message.objects.filter(pk__gt=0).count() - msgs_before
    assert new == Message.objects.filter(run_id=started.pk).count() == (0 if started.holdout else 1)
