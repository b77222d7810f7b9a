"""django-q2 tasks of the engine: thin wrappers that take ids and call services. Each task
carries a batch (event ids, a job's next chunk, a sweep), never one step.

Periodic schedules (declared in journeys/hooks.py, created after migrate by console.schedules):
the due-run sweep every minute (it keeps claiming batches for SWEEP_SECONDS, so timer lag stays
around a second), the date-trigger sweep hourly, and the demo traffic generator every minute.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction

log = logging.getLogger("sangam.journeys")

IDLE_SLEEP = 0.5


def _async(func: str, *args) -> None:
    from django_q.tasks import async_task

    async_task(func, *args)


# --- events -------------------------------------------------------------------------------------


def events_committed(event_ids: list[int]) -> None:
    """The console's events listener (called after commit): ONE task for the whole batch."""
    if event_ids:
        _async("journeys.tasks.events_process_task", list(event_ids))


def events_process_task(event_ids: list[int]) -> int:
    from journeys.services.enrolment import events_process

    return events_process(event_ids=event_ids)


# --- timers ---------------------------------------------------------------------------------------


def runs_due_sweep(*, seconds: float | None = None, limit: int | None = None) -> int:
    """Claim and advance due runs in batches for up to ``seconds``; returns runs advanced."""
    from journeys.services.stepping import BATCH_SIZE, runs_advance_due

    seconds = settings.SWEEP_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    total = 0
    while True:
        advanced = runs_advance_due(limit=limit or BATCH_SIZE)
        total += advanced
        if time.monotonic() >= deadline:
            return total
        if not advanced:
            if seconds <= 0:
                return total
            time.sleep(IDLE_SLEEP)


def runs_due_sweep_task() -> int:
    return runs_due_sweep()


def date_triggers_task() -> int:
    from journeys.services.segments import date_triggers_sweep

    return date_triggers_sweep()


# --- segment enrolment ------------------------------------------------------------------------


def segment_chunk_enqueue(job_id: int) -> None:
    transaction.on_commit(lambda: _async("journeys.tasks.segment_chunk_task", job_id))


def segment_chunk_task(job_id: int) -> None:
    from journeys.services.segments import segment_enrolment_step

    deadline = time.monotonic() + settings.SWEEP_SECONDS
    while segment_enrolment_step(job_id):
        if time.monotonic() > deadline:
            segment_chunk_enqueue(job_id)
            return


# --- webhooks -----------------------------------------------------------------------------------


def webhook_enqueue(keys: list[str]) -> None:
    _async("journeys.tasks.webhook_task", list(keys))


def webhook_task(keys: list[str]) -> None:
    from journeys.webhooks import webhooks_deliver

    webhooks_deliver(keys)


# --- demo traffic -------------------------------------------------------------------------------


def traffic_task() -> int:
    from journeys.traffic import traffic_tick

    return traffic_tick()
