"""One django-q2 task per journey step, chained: each loads the run, does its node, saves the
run and enqueues the task for the next node. Waits park the run with a due time; the periodic
sweep (``runs_wake_due``, fired by the bench driver after it moves the fake clock, as a
once-a-minute django-q2 schedule would be) enqueues the next step of every due run.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task
from peer_common import HOUR_S, READ_TIMEOUT_S, SMS_BODY, WHATSAPP_BODY, whatsapp_outcome

from naive_app.models import NaiveClock, NaiveMessage, NaiveRun

TASKS = "naive_app.tasks"
SWEEP_BATCH = 1000


def clock_now():
    """Journey time: the bench's fake clock (real time plus the driver's offset)."""
    offset = NaiveClock.objects.values_list("offset_s", flat=True).get(pk=1)
    return timezone.now() + timedelta(seconds=offset)


def runs_enrol(first: int, last: int, chunk: int) -> None:
    """The trigger node for customers [first, first + chunk): one run each, then one task each."""
    end = min(last, first + chunk)
    now = clock_now()
    runs = NaiveRun.objects.bulk_create(
        NaiveRun(customer=c, node="whatsapp", steps=1, updated_at=now) for c in range(first, end)
    )
    for run in runs:
        async_task(f"{TASKS}.step_whatsapp", run.pk)
    if end < last:
        async_task(f"{TASKS}.runs_enrol", end, last, chunk)


def _run_locked(run_id: int, node: str) -> NaiveRun | None:
    run = NaiveRun.objects.select_for_update().get(pk=run_id)
    return run if run.node == node else None  # a retried task whose step already happened


def _send(run: NaiveRun, channel: str, status: str, body: str, now) -> None:
    NaiveMessage.objects.create(
        run=run, channel=channel, status=status, created_at=now,
        body=body.format(name=f"Priya Bench{run.customer}", i=run.customer),
    )  # fmt: skip


def step_whatsapp(run_id: int) -> None:
    with transaction.atomic():
        now = clock_now()
        if (run := _run_locked(run_id, "whatsapp")) is None:
            return
        _send(run, "whatsapp", whatsapp_outcome(run.customer), WHATSAPP_BODY, now)
        run.node, run.status, run.due_at = "wait_1h", "waiting", now + timedelta(seconds=HOUR_S)
        run.steps += 1
        run.updated_at = now
        run.save()


def step_wait_1h(run_id: int) -> None:
    with transaction.atomic():
        now = clock_now()
        if (run := _run_locked(run_id, "wait_1h")) is None:
            return
        run.node, run.status, run.due_at, run.updated_at = "wait_read", "active", None, now
        run.steps += 1
        run.save()
    async_task(f"{TASKS}.step_wait_read", run_id)


def step_wait_read(run_id: int) -> None:
    """Read: on to the exit. Not read: wait up to 24 h (the sweep brings the run back when the
    timeout is due), then on to the SMS."""
    with transaction.atomic():
        now = clock_now()
        if (run := _run_locked(run_id, "wait_read")) is None:
            return
        read = run.messages.filter(channel="whatsapp", status="read").exists()
        if not read and run.due_at is None:
            run.status, run.due_at = "waiting", now + timedelta(seconds=READ_TIMEOUT_S)
            run.updated_at = now
            run.save()
            return
        run.node = "read" if read else "sms"
        run.status, run.due_at, run.updated_at = "active", None, now
        run.steps += 1
        run.save()
    async_task(f"{TASKS}.step_{run.node}", run_id)


def step_sms(run_id: int) -> None:
    with transaction.atomic():
        now = clock_now()
        if (run := _run_locked(run_id, "sms")) is None:
            return
        _send(run, "sms", "delivered", SMS_BODY, now)
        run.node, run.updated_at = "done", now
        run.steps += 1
        run.save()
    async_task(f"{TASKS}.step_done", run_id)


def _exit(run_id: int, node: str) -> None:
    with transaction.atomic():
        now = clock_now()
        if (run := _run_locked(run_id, node)) is None:
            return
        run.exit_reason, run.node, run.status, run.updated_at = node, "ended", "ended", now
        run.steps += 1
        run.save()


def step_read(run_id: int) -> None:
    _exit(run_id, "read")


def step_done(run_id: int) -> None:
    _exit(run_id, "done")


def runs_wake_due() -> None:
    """The periodic sweep: enqueue the next step of every run whose wait is due."""
    now = clock_now()
    due = list(
        NaiveRun.objects.filter(status="waiting", due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", "node")[:SWEEP_BATCH]
    )
    NaiveRun.objects.filter(pk__in=[pk for pk, _ in due]).update(status="queued")
    for pk, node in due:
        async_task(f"{TASKS}.step_{node}", pk)
    if len(due) == SWEEP_BATCH:
        async_task(f"{TASKS}.runs_wake_due")


def ping() -> str:
    """Lets the driver see the cluster take tasks before it starts the clock."""
    return "pong"
