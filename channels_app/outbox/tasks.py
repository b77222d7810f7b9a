"""django-q2 tasks of the outbox (thin: they call services). Work is done in batches: a sweep
sends due messages, reconciles stale sends and delivers due simulator outcomes; it never
enqueues one task per message."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from channels_app.models.outbox import PENDING_STATUSES, Message, SimulatedOutcome
from channels_app.outbox.claims import with_status

log = logging.getLogger("sangam.dispatch")
SWEEP_TASK = "channels_app.outbox.tasks.outbox_sweep"
KICK_KEY = "outbox:kick"


def outbox_dispatch_batch(limit: int | None = None) -> dict[str, int]:
    """Send up to ``limit`` due messages (default: one dispatch batch) and reconcile stale
    in-flight ones."""
    from channels_app.outbox.dispatch import outbox_dispatch

    return outbox_dispatch(limit=limit) if limit else outbox_dispatch()


def outbox_sweep(max_s: float | None = None) -> dict[str, int]:
    """Replay webhooks a crash left unprocessed, deliver due simulator outcomes and dispatch
    batches; while more work falls due within ``max_s`` (simulated delays of a few seconds),
    wait for it instead of ending, so the simulator feels live between the once-a-minute
    schedule runs."""
    from channels_app.outbox.dispatch import outbox_dispatch
    from channels_app.outbox.simulated import simulated_outcomes_deliver
    from channels_app.webhooks.services import webhook_receipts_replay

    totals = {"sent": 0, "reconciled": 0, "simulated": 0}
    # Webhooks stored but never processed (their process died in between) go first.
    totals["webhooks_replayed"] = webhook_receipts_replay()
    deadline = time.monotonic() + (settings.SWEEP_SECONDS if max_s is None else max_s)
    while True:
        totals["simulated"] += simulated_outcomes_deliver()
        counts = outbox_dispatch()
        totals["sent"] += counts["sent"]
        totals["reconciled"] += counts["reconciled"]
        wait = next_due_in()
        if wait is None or time.monotonic() + wait > deadline:
            return totals
        time.sleep(min(max(wait, 0.05), 1.0))


def next_due_in() -> float | None:
    """Seconds until the next pending message or simulated outcome is due (None: nothing)."""
    moments = [
        with_status(Message.objects.filter(due_at__isnull=False), PENDING_STATUSES)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first(),
        SimulatedOutcome.objects.filter(delivered_at__isnull=True)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first(),
    ]
    found = [m for m in moments if m is not None]
    if not found:
        return None
    return max(0.0, (min(found) - timezone.now()).total_seconds())


def outbox_kick() -> None:
    """After commit, enqueue one sweep unless one was enqueued a moment ago (coalesced)."""

    def kick() -> None:
        if not cache.add(KICK_KEY, 1, timeout=1):
            return
        from django_q.tasks import async_task

        async_task(SWEEP_TASK, group="outbox")

    transaction.on_commit(kick)
