"""Claiming pending and stale in-flight messages for one worker.

PostgreSQL: ``SELECT ... FOR NO KEY UPDATE SKIP LOCKED`` then mark (NO KEY: rows that only
gain a status history row or a planned outcome, which lock the message FOR KEY SHARE, are not
skipped or waited for). SQLite (a single writer): a
conditional ``UPDATE ... SET claimed_by = me WHERE id IN (...) AND <still claimable>``, then read
back which rows are ours; two workers racing for a row both run the UPDATE, only one matches.
A claim older than the lease counts as abandoned (its worker died) and may be taken again.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from channels_app.models.outbox import IN_FLIGHT_STATUSES, PENDING_STATUSES, Message
from channels_app.outbox.clock import due_q


def lease_seconds() -> float:
    """How long a claim or an in-flight send is trusted before reconciling; must exceed the
    provider timeout by a margin, or a slow send could be looked up before it exists."""
    return settings.DISPATCH_LEASE_S


def worker_name() -> str:
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claimable(now: datetime) -> Q:
    stale = now - timedelta(seconds=lease_seconds())
    return Q(claimed_by__isnull=True) | Q(claimed_at__lt=stale)


def with_status(qs, statuses: tuple[str, ...]):
    """``status IN (...)`` written with literal values. The claim and sweep indexes are partial
    (``WHERE status IN ('queued', 'deferred')`` and the in-flight pair): SQLite uses a partial
    index only when the query repeats its condition, which a bound parameter cannot do, so with
    ``status__in`` every claim scanned the whole outbox. The values are this module's constants."""
    if any("'" in status for status in statuses):
        raise ValueError("statuses are plain words")
    column = f"{Message._meta.db_table}.status"
    listed = ", ".join(f"'{status}'" for status in statuses)
    return qs.extra(where=[f"{column} IN ({listed})"])


def _claim(
    base: Q, statuses: tuple[str, ...], *, worker: str, limit: int, now: datetime,
    order: tuple[str, ...],
) -> list[int]:  # fmt: skip
    qs = _claimable_rows(base, statuses, now, order)
    if connection.vendor == "postgresql":
        with transaction.atomic():
            locked = qs.select_for_update(skip_locked=True, no_key=True)
            ids = list(locked.values_list("id", flat=True)[:limit])
            Message.objects.filter(id__in=ids).update(claimed_by=worker, claimed_at=now)
        return ids
    candidates = list(qs.values_list("id", flat=True)[:limit])
    if not candidates:
        return []
    with transaction.atomic():
        Message.objects.filter(
            base, _claimable(now), status__in=statuses, id__in=candidates
        ).update(claimed_by=worker, claimed_at=now)
    return list(
        Message.objects.filter(id__in=candidates, claimed_by=worker)
        .order_by(*order)
        .values_list("id", flat=True)
    )


DUE_ORDER = ("due_at", "id")


def messages_claim_due(*, worker: str, limit: int, now: datetime) -> list[int]:
    """Queued or deferred messages whose time has come."""
    return _claim(
        due_q(now), PENDING_STATUSES, worker=worker, limit=limit, now=now, order=DUE_ORDER
    )


def messages_due_locked(*, limit: int, now: datetime):
    """PostgreSQL: the rows ``messages_claim_due`` would claim, as a ``SELECT ... FOR NO KEY
    UPDATE SKIP LOCKED`` query for a caller that claims them inside its own transaction (the
    dispatcher marks them "sending" and claimed by one UPDATE; a separate claim would write
    every row once more)."""
    qs = _claimable_rows(due_q(now), PENDING_STATUSES, now, DUE_ORDER)
    return qs.select_for_update(skip_locked=True, of=("self",), no_key=True)[:limit]


def _claimable_rows(base: Q, statuses: tuple[str, ...], now: datetime, order: tuple[str, ...]):
    qs = Message.objects.filter(base).filter(_claimable(now))
    return with_status(qs, statuses).order_by(*order)


def messages_claim_stale(*, worker: str, limit: int, now: datetime) -> list[int]:
    """In-flight sends ("sending" / "unknown") whose lease ran out: reconcile before resending."""
    stale = now - timedelta(seconds=lease_seconds())
    base = Q(claimed_at__lt=stale) | Q(claimed_at__isnull=True)
    return _claim(
        base, IN_FLIGHT_STATUSES, worker=worker, limit=limit, now=now, order=("claimed_at", "id")
    )


def claim_release(message_id: int, **fields) -> None:
    Message.objects.filter(pk=message_id).update(claimed_by=None, claimed_at=None, **fields)
