"""django-q2 tasks for CSV imports: thin wrappers that take a job id and call imports.py."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from channels_app.consent.imports import import_step

TASK_PATH = "channels_app.consent.tasks.import_step_task"


def step_budget() -> float:
    """Seconds one task works: half the worker timeout, so a step never outlives it."""
    return max(5.0, settings.Q_TIMEOUT / 2)


def import_step_task(job_id: int) -> None:
    """Work on an import for a bounded time, then hand the rest to a new task."""
    if import_step(job_id, budget_seconds=step_budget()):
        import_enqueue(job_id)


def import_enqueue(job_id: int) -> None:
    """Queue the next step once the current transaction commits (the job row must be visible)."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task(TASK_PATH, job_id))
