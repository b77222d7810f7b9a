"""Segment enrolment prepared outside the write lock (SQLite): a chunk's runs, first steps and
messages are computed with reads only and written in one short transaction that checks its
guesses; the lease keeps two workers from preparing the same job. On PostgreSQL the chunk is
enrolled inside its transaction (the job row locked), so there the same calls must give the
same stored result."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels_app.models.outbox import Message
from console.leases import lease_give_back, lease_take
from console.models import Customer, WorkLease
from journeys.clock import real_now
from journeys.models import EnrolmentJob, Run, Step
from journeys.services import enrolment, journey_create, journey_publish
from journeys.services.segments import segment_enrolment_step

pytestmark = pytest.mark.django_db(transaction=True)
SQLITE = connection.vendor == "sqlite"


def reminder_graph():
    """Segment (Pune) -> WhatsApp reminder -> wait 1 h -> exit."""
    return {
        "format": 1,
        "nodes": [
            {"id": "trigger", "kind": "trigger.segment",
             "config": {"filter": {"path": "attributes.city", "op": "eq", "value": "Pune"}}},
            {"id": "remind", "kind": "send",
             "config": {"channel": "whatsapp", "template": "payment_reminder_whatsapp",
                        "purpose": "service"}},
            {"id": "wait", "kind": "wait", "config": {"mode": "duration", "hours": 1}},
            {"id": "end", "kind": "exit", "config": {}},
        ],
        "edges": [
            *[{"from": "remind", "port": port, "to": "wait"}
              for port in ("sent", "skipped", "failed")],
            {"from": "trigger", "port": "out", "to": "remind"},
            {"from": "wait", "port": "out", "to": "end"},
        ],
    }  # fmt: skip


@pytest.fixture
def job(templates, make_customer, clock, monkeypatch):
    """A published reminder journey over 5 Pune customers and one in Delhi (``step``: a chunk
    of 4); no chunk task runs on its own."""
    monkeypatch.setattr("journeys.tasks._async", lambda *args: None)
    loan = {"loan_id": "LN7", "emi_amount": "8450", "emi_due_date": "2031-12-10"}
    for n in range(6):
        make_customer(city="Delhi" if n == 2 else "Pune", **loan)
    journey = journey_create(workspace=templates, name="Reminder", graph=reminder_graph())
    journey_publish(journey=journey)
    return EnrolmentJob.objects.get(journey=journey)


@pytest.fixture
def prepared(monkeypatch):
    """Counts the chunks prepared outside the lock; ``interfere`` runs after each preparation
    (another writer acting between the preparation and its write)."""
    calls = {"prepared": 0, "interfere": None}
    real = enrolment.runs_enrol_plan

    def spy(**kwargs):
        plan = real(**kwargs)
        calls["prepared"] += 1
        if calls["interfere"]:
            calls["interfere"]()
        return plan

    monkeypatch.setattr("journeys.services.segments.runs_enrol_plan", spy)
    return calls


def step(job):
    return segment_enrolment_step(job.pk, chunk=4)


def _stored(job):
    runs = {run.pk: run for run in Run.objects.filter(journey=job.journey)}
    messages = list(Message.objects.filter(run_id__in=list(runs)).values_list("run_id", "status"))
    return runs, messages


def test_a_chunk_prepared_outside_the_lock_lands_whole_with_its_steps_and_messages(job, prepared):
    assert not connection.in_atomic_block
    assert step(job) is True
    job.refresh_from_db()
    assert (job.scanned, job.enrolled, job.status) == (4, 3, "running")
    runs, messages = _stored(job)
    assert len(runs) == 3 and {(r.status, r.node_id) for r in runs.values()} == {
        ("waiting", "remind")
    }
    assert sorted(run_id for run_id, _ in messages) == sorted(runs)
    assert {status for _, status in messages} == {"queued"}
    assert Step.objects.filter(run_id__in=list(runs), node_id="trigger").count() == 3
    assert step(job) is True
    assert step(job) is False  # nobody left: the job is done
    job.refresh_from_db()
    assert (job.scanned, job.enrolled, job.status) == (6, 5, "done")
    runs, messages = _stored(job)
    assert len(runs) == 5 and sorted(r for r, _ in messages) == sorted(runs)
    assert prepared["prepared"] == (2 if SQLITE else 0)
    assert not WorkLease.objects.exclude(holder="").exists()  # every lease given back


def test_a_chunk_whose_run_keys_another_writer_took_meanwhile_is_enrolled_inside_the_lock(
    job, prepared, clock
):
    def take_the_next_run_key():  # as an event enrolment committing meanwhile would
        taken = Run.objects.create(
            workspace_id=job.journey.workspace_id, journey=job.journey, version=job.version,
            customer=Customer.objects.filter(workspace_id=job.journey.workspace_id).first(),
            enrol_key="elsewhere", entered_at=timezone.now(), status="exited",
        )  # fmt: skip
        prepared["taken"] = taken.pk

    prepared["interfere"] = take_the_next_run_key
    assert step(job) is True
    job.refresh_from_db()
    assert (job.scanned, job.enrolled) == (4, 3)
    runs = {r.pk: r for r in Run.objects.filter(journey=job.journey).exclude(enrol_key="elsewhere")}
    messages = list(Message.objects.filter(run_id__in=list(runs)).values_list("run_id"))
    assert len(runs) == 3 and sorted(r for (r,) in messages) == sorted(runs)
    if SQLITE:  # the guessed keys began at the interloper's: none of its work was kept
        assert prepared["prepared"] == 1
        assert not Message.objects.filter(run_id=prepared["taken"]).exists()
        assert not Step.objects.filter(run_id=prepared["taken"]).exists()
    assert not WorkLease.objects.exclude(holder="").exists()


def test_a_job_another_worker_is_preparing_is_left_to_it_until_its_lease_runs_out(job, clock):
    now = real_now()  # the engine's real time (frozen here)
    assert lease_take(f"enrolment:{job.pk}", now=now, seconds=60, holder="other:1")
    stepped = step(job)
    job.refresh_from_db()
    if SQLITE:  # the other worker carries the job on; this one enrolled nobody
        assert stepped is False and job.scanned == 0
        assert not Run.objects.filter(journey=job.journey).exists()
        # the other worker was killed: its lease runs out and the job goes on here
        WorkLease.objects.filter(holder="other:1").update(until=now - timedelta(seconds=1))
        assert step(job) is True
        job.refresh_from_db()
    else:  # the job row's lock is the claim: no lease is consulted
        assert stepped is True
    assert (job.scanned, job.enrolled) == (4, 3)


def test_a_lease_is_held_by_one_holder_until_given_back_or_run_out():
    now = timezone.now()
    assert lease_take("sweep", now=now, seconds=30, holder="a")
    assert lease_take("sweep", now=now, seconds=30, holder="a")  # renewed by its holder
    assert not lease_take("sweep", now=now, seconds=30, holder="b")
    assert not lease_give_back("sweep", holder="b")
    assert lease_give_back("sweep", holder="a")
    assert lease_take("sweep", now=now, seconds=30, holder="b")
    later = now + timedelta(seconds=31)
    assert lease_take("sweep", now=later, seconds=30, holder="a")  # b's ran out
    assert not lease_give_back("sweep", holder="b")
    assert WorkLease.objects.get(name="sweep").holder == "a"


def test_reads_only_refuses_a_write_and_the_write_does_not_happen(workspace):
    from console.db import reads_only

    customer = Customer.objects.create(workspace=workspace, external_id="R1", name="Asha")
    with reads_only():
        assert Customer.objects.filter(pk=customer.pk).exists()
        with pytest.raises(RuntimeError, match="a write where only reads may run"):
            Customer.objects.filter(pk=customer.pk).update(name="Changed")
    customer.refresh_from_db()
    assert customer.name == "Asha"


def test_a_forked_worker_holds_leases_under_its_own_name():
    """django-q2 forks its workers after this module is imported: each must be its own holder,
    or two workers would renew each other's lease and prepare the same batch."""
    import multiprocessing

    from console.leases import this_process

    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=lambda: child_end.send(this_process()))
    child.start()
    named = parent_end.recv()
    child.join(10)
    assert named != this_process() and named.endswith(f":{child.pid}")
