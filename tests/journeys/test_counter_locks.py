"""A batch's node counters are the rows every batch of a journey shares: on PostgreSQL their
row locks make the next batch wait for this one's commit. They are therefore written last,
after the batch's messages and its customers' attribute updates, and in key order, so that two
batches cannot lock them in opposite orders. Runs made due by queued inputs are likewise locked
in id order before their update."""

import pytest
from django.db import connection, transaction

from channels_app.models.outbox import Message
from console.models import Customer
from journeys.models import NodeCounter, Run, RunInput
from journeys.selectors import node_counters
from journeys.services import journey_create, journey_publish, runs_advance_due, stepping
from journeys.services.stepping import InputRow
from tests.journeys.conftest import send_event

pytestmark = pytest.mark.django_db(transaction=True)


def wait_then_send():
    """go -> wait 1 h -> note the reminder on the customer -> WhatsApp reminder -> exit."""
    return {
        "format": 1,
        "nodes": [
            {"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}},
            {"id": "wait", "kind": "wait", "config": {"mode": "duration", "hours": 1}},
            {"id": "remind", "kind": "send",
             "config": {"channel": "whatsapp", "template": "payment_reminder_whatsapp",
                        "purpose": "service"}},
            {"id": "note", "kind": "update",
             "config": {"target": "attribute", "name": "reminded", "value": "yes"}},
            {"id": "end", "kind": "exit", "config": {}},
        ],
        "edges": [
            {"from": "trigger", "port": "out", "to": "wait"},
            {"from": "wait", "port": "out", "to": "note"},
            {"from": "note", "port": "out", "to": "remind"},
            *[{"from": "remind", "port": port, "to": "end"}
              for port in ("sent", "skipped", "failed")],
        ],
    }  # fmt: skip


def test_a_batch_writes_its_counters_after_its_messages_and_attribute_updates(
    templates, make_customer, clock, engine_sync, monkeypatch
):
    journey = journey_create(workspace=templates, name="Remind", graph=wait_then_send())
    journey_publish(journey=journey)
    loan = {"loan_id": "LN7", "emi_amount": "8450", "emi_due_date": "2031-12-10"}
    customers = [make_customer(**loan) for _ in range(3)]
    for n, customer in enumerate(customers):
        send_event(customer, "go", ref=f"R{n}", **loan)
    clock.advance(hours=1, minutes=1)
    seen: list[tuple[int, int]] = []  # (messages, customers updated) when the counters go

    def spy(deltas):
        updated = Customer.objects.filter(pk__in=[c.pk for c in customers])
        updated = updated.filter(attributes__reminded="yes")
        seen.append((Message.objects.filter(workspace=templates).count(), updated.count()))
        return real(deltas)

    real = stepping.counters_apply
    monkeypatch.setattr(stepping, "counters_apply", spy)
    assert runs_advance_due(limit=100) == 3

    assert seen == [(3, 3)]
    counts = node_counters(journey=journey)
    assert counts["remind"]["entered"] == 3 and counts["note"]["entered"] == 3


def test_counters_are_locked_in_key_order_and_add_up(templates, clock, engine_sync):
    journey = journey_create(workspace=templates, name="Counters", graph=wait_then_send())
    journey_publish(journey=journey)
    keys = [(journey.pk, 1, node, "entered") for node in ("wait", "end", "remind", "trigger")]
    locked: list[list] = []

    def spy(execute, sql, params, many, context):
        if many and sql.startswith("UPDATE") and NodeCounter._meta.db_table in sql:
            locked.append([tuple(row[1:]) for row in params])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        stepping.counters_apply({key: n for n, key in enumerate(keys, start=1)})
        stepping.counters_apply({keys[2]: 5, keys[0]: 1})

    assert locked == [sorted(keys), sorted([keys[2], keys[0]])]
    stored = dict(NodeCounter.objects.filter(journey=journey).values_list("node_id", "count"))
    assert stored == {"wait": 2, "end": 2, "remind": 8, "trigger": 4}


def test_queueing_inputs_locks_the_runs_in_id_order_before_making_them_due(
    templates, make_customer, clock, engine_sync
):
    journey = journey_create(workspace=templates, name="Remind", graph=wait_then_send())
    journey_publish(journey=journey)
    loan = {"loan_id": "LN7", "emi_amount": "8450", "emi_due_date": "2031-12-10"}
    for n in range(3):
        send_event(make_customer(**loan), "go", ref=f"R{n}", **loan)
    runs = list(Run.objects.filter(journey=journey).order_by("-id"))
    given = {
        run.pk: [InputRow(run.pk, "event", f"late:{run.pk}", clock.now, {"name": "late"})]
        for run in runs  # newest first: the order the caller happens to hold them in
    }
    statements: list[str] = []

    def spy(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(spy):
        stepping.inputs_queue(given)

    assert set(Run.objects.filter(journey=journey).values_list("due_at", flat=True)) == {clock.now}
    assert RunInput.objects.filter(run__journey=journey).count() == 3
    updates = [i for i, sql in enumerate(statements) if sql.startswith('UPDATE "journeys_run"')]
    assert len(updates) == 1
    if connection.vendor == "postgresql":
        locks = [
            i for i, sql in enumerate(statements)
            if "FOR NO KEY UPDATE" in sql and "ORDER BY 1 ASC" in sql
        ]  # fmt: skip
        assert locks and locks[0] < updates[0]  # ORDER BY 1: the id, the one column read
