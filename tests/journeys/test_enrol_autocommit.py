"""Enrolment and the outbox's batch insert called outside any transaction (a script, a shell, the
timer benchmark): each holds its own, so the keys it reserves are safe on SQLite's one write lock
too."""

import pytest
from django.db import connection

from channels_app.models.outbox import Message
from journeys.demo import seed_journeys_publish
from journeys.engine.types import EventInput
from journeys.models import Journey, Run
from journeys.services.enrolment import Enrolment, runs_enrol

pytestmark = pytest.mark.django_db(transaction=True)


def test_runs_enrol_in_autocommit_reserves_keys_in_its_own_transaction(
    templates, make_customer, clock
):
    seed_journeys_publish(templates)
    journey = Journey.objects.get(workspace=templates, gallery_slug="payment-reminder-fallback")
    version = journey.versions.get(number=journey.current_version)
    customers = [make_customer() for _ in range(4)]
    event = EventInput(
        "payment.due",
        clock.now,
        {"loan_id": "LN1", "emi_amount": "1", "emi_due_date": "2031-12-10"},
    )
    items = [Enrolment(c, f"auto:{c.pk}", event=event) for c in customers]
    assert not connection.in_atomic_block
    result = runs_enrol(version=version, items=items, now=clock.now)
    assert sorted(run.customer_id for run in result.runs) == sorted(c.pk for c in customers)
    stored = {run.pk: run for run in Run.objects.filter(journey=journey)}
    assert set(stored) == {run.pk for run in result.runs}
    sent = Message.objects.filter(run_id__in=stored)
    treated = [pk for pk, run in stored.items() if not run.holdout]
    assert sorted(sent.values_list("run_id", flat=True)) == sorted(treated)
    again = runs_enrol(version=version, items=items, now=clock.now)
    assert again.runs == [] and Run.objects.filter(journey=journey).count() == 4


def test_the_outbox_batch_insert_in_autocommit_reserves_keys_in_its_own_transaction(
    templates, make_customer, clock
):
    from channels_app.outbox.services import message_draft, messages_write
    from tests.channels_app.outbox_fixtures import sms_send_args

    customer = make_customer()
    rows = [message_draft(**sms_send_args(customer, f"auto-{n}", clock.now)) for n in range(2)]
    assert not connection.in_atomic_block
    messages_write(rows)
    stored = dict(
        Message.objects.filter(idempotency_key__startswith="auto-").values_list(
            "idempotency_key", "pk"
        )
    )
    assert stored == {row.idempotency_key: row.pk for row in rows} and len(stored) == 2
