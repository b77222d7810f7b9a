"""The one writer of message outcomes: a monotonic status change plus exactly one Event per
(message, status), ingested through ``console.services.events_record`` so that the
``events_committed_register`` listeners (the journey engine) see them.

Event idempotency key: ``msg:<message_id>:<status>``; a duplicate or late webhook therefore never
creates a second event. Preconditions: call inside a transaction (the dispatcher and webhooks do);
the Message row is locked (``select_for_update``; on SQLite the IMMEDIATE transaction is the lock).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.models.outbox import Message, MessageStatusChange, PendingStatus
from channels_app.outbox.states import EVENT_STATUSES, transition
from channels_app.providers.base import redact
from console.db import rows_update, values_insert
from console.live import live_publish
from console.services import KnownEvent, events_record

CALL_EVENT_NAMES = ("answered", "no_answer", "busy", "completed", "failed", "ringing")


def message_event_properties(message: Message, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "message_key": message.idempotency_key,
        "message_id": message.pk,
        "channel": message.channel,
        "template_key": message.template_key,
        "provider": message.provider_kind,
    }
    if message.run_id is not None:
        props["run_id"] = message.run_id
    if message.node_id:
        props["node_id"] = message.node_id
    props.update({k: v for k, v in extra.items() if v not in (None, "")})
    return props


def channel_events_emit(message: Message, events: list[tuple[str, str, dict]], at) -> list[int]:
    """Store (event key suffix, event name, extra properties) for ``message``'s customer."""
    if not events:
        return []
    items = [_event_item(message, suffix, name, extra, at) for suffix, name, extra in events]
    return events_record(workspace=message.workspace, events=items, source="channel")


def _history(message: Message, status: str, at, source: str, applied: bool, detail, raw) -> bool:
    """Record the status once; False when this status was already recorded (a duplicate)."""
    try:
        with transaction.atomic():
            MessageStatusChange.objects.create(
                message=message,
                status=status,
                at=at,
                source=source,
                applied=applied,
                detail=(detail or "")[:300],
                raw=redact(dict(raw or {})),
            )
    except IntegrityError:
        return False
    return True


@dataclass
class OutcomeReport:
    """One status reported for one message (the arguments of ``message_outcome_record``)."""

    message: Message
    status: str
    at: datetime
    source: str = ""
    raw: Mapping[str, Any] | None = None
    error_code: str = ""
    error_reason: str = ""
    price: Decimal | None = None
    properties: Mapping[str, Any] | None = None


def message_outcome_record(
    *,
    message: Message,
    status: str,
    at: datetime | None = None,
    source: str = "",
    raw: Mapping[str, Any] | None = None,
    error_code: str = "",
    error_reason: str = "",
    price: Decimal | None = None,
    properties: Mapping[str, Any] | None = None,
) -> list[int]:
    """Report that ``message`` reached ``status``; returns the ids of new events.

    Moves the row forward only (``states.transition``); records the status in the history once;
    emits ``message.<status>`` (and implied earlier statuses) once each. Safe to call again with
    the same report: it then changes nothing.
    """
    report = OutcomeReport(
        message, status, at or timezone.now(), source, raw, error_code, error_reason, price,
        properties,
    )  # fmt: skip
    return message_outcomes_record([report])


def message_outcomes_record(
    reports: Sequence[OutcomeReport], *, also: Sequence[tuple[Message, Sequence[str]]] = ()
) -> list[int]:
    """``message_outcome_record`` for many reports at once, in order (several may name the same
    message): one UPDATE per set of changed columns, one history INSERT, one ``events_record``
    per workspace. Same preconditions: inside a transaction, the messages locked. ``also``:
    (message, field names) the caller changed on these objects, written by the same UPDATE
    (one new row version per message instead of two)."""
    return outcomes_write(outcomes_plan(reports, also=also))


@dataclass
class OutcomeWrites:
    """What recording a batch of reports writes, worked out from the messages as read:
    (message, changed fields) per message, status history rows, events per workspace."""

    changed: dict[int, tuple[Message, set[str]]]
    history: list[list]
    events: dict[int, tuple[Any, list[KnownEvent]]]


def outcomes_plan(
    reports: Sequence[OutcomeReport], *, also: Sequence[tuple[Message, Sequence[str]]] = ()
) -> OutcomeWrites:
    """The writes of ``message_outcomes_record`` without writing (no query): each report moves
    its message object forward, so the writes hold what the messages become."""
    plan = OutcomeWrites({}, [], {})
    for message, fields in also:
        plan.changed.setdefault(message.pk, (message, set()))[1].update(fields)
    now = timezone.now()
    for report in reports:
        if report.at is None:  # the provider did not say when
            report.at = now
        message = report.message
        step = transition(message.status, report.status, message.channel)
        if step.new_status is not None:
            fields = _fields(message, step.new_status, report)
            for name, value in fields.items():
                setattr(message, name, value)
            plan.changed.setdefault(message.pk, (message, set()))[1].update(fields)
        plan.history.append(_history_row(message, report, step.new_status is not None))
        extra = {"status": report.status, "reason": report.error_reason or message.decision_reason}
        if report.error_code:
            extra["error_code"] = report.error_code
        extra.update(report.properties or {})
        batch = plan.events.setdefault(message.workspace_id, (message.workspace, []))[1]
        batch.extend(
            _event_item(message, s, f"message.{s}", {**extra, "status": s}, report.at)
            for s in step.events
            if s in EVENT_STATUSES
        )
    return plan


def outcomes_write(plan: OutcomeWrites) -> list[int]:
    """Write a plan (inside the caller's transaction); returns the ids of the new events."""
    by_columns: dict[tuple[str, ...], list[Message]] = defaultdict(list)
    for message, fields in plan.changed.values():
        by_columns[tuple(sorted(fields))].append(message)
    for columns, messages in by_columns.items():
        rows_update(Message, messages, list(columns))
    history_insert(plan.history)
    for customer_id in {message.customer_id for message, _ in plan.changed.values()}:
        live_publish(f"customer:{customer_id}", kind="message")
    created: list[int] = []
    for workspace, batch in plan.events.values():
        if batch:
            created += events_record(workspace=workspace, events=batch, source="channel")
    return created


def messages_read(messages) -> dict[int, tuple[str, str]]:
    """(status, provider id) per message as read, for ``messages_unchanged`` to check again
    before writes worked out from them outside the write lock."""
    return {m.pk: (m.status, m.provider_id) for m in messages}


def messages_unchanged(read: dict[int, tuple[str, str]]) -> bool:
    """True when every message still has the status and provider id it was read with."""
    stored = Message.objects.filter(pk__in=list(read)).values_list("id", "status", "provider_id")
    return {pk: (status, provider_id) for pk, status, provider_id in stored} == read


def _event_item(message: Message, suffix: str, name: str, extra: dict, at) -> KnownEvent:
    return KnownEvent(
        f"msg:{message.pk}:{suffix}", message.customer_id, name,
        message_event_properties(message, **extra), at,
    )  # fmt: skip


HISTORY_FIELDS = ["message", "status", "at", "source", "applied", "detail", "raw"]


def _history_row(message: Message, report: OutcomeReport, applied: bool) -> list:
    return [message.pk, report.status, report.at, report.source, applied,
            (report.error_reason or "")[:300], redact(dict(report.raw or {}))]  # fmt: skip


def history_insert(rows: list[list]) -> None:
    """Status history rows in HISTORY_FIELDS order, recorded now; a status already recorded for
    a message is skipped."""
    now = timezone.now()
    values_insert(MessageStatusChange, [*HISTORY_FIELDS, "recorded_at"],
                  [[*row, now] for row in rows], ignore_conflicts=True)  # fmt: skip


def _fields(message: Message, new_status: str, report: OutcomeReport) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": new_status, "status_at": report.at}
    if new_status in ("failed", "undelivered", "blocked"):
        fields.update(
            error_code=report.error_code[:32], error_reason=(report.error_reason or "")[:300]
        )
    if new_status == "sent" and message.sent_at is None:
        fields["sent_at"] = report.at
    if report.price is not None:
        fields["cost"] = report.price
    if new_status not in ("queued", "deferred"):
        fields["due_at"] = None
    return fields


# --- statuses that arrived before their message -------------------------------------------------


def status_park(
    *, workspace, provider_kind: str, provider_id: str, reference: str, payload
) -> None:
    PendingStatus.objects.create(
        workspace=workspace,
        provider_kind=provider_kind,
        provider_id=provider_id,
        reference=reference,
        payload=payload,
    )


def pending_statuses_for(message: Message) -> list[PendingStatus]:
    """Parked statuses that name this message (by provider id or by our reference)."""
    rows = PendingStatus.objects.filter(workspace=message.workspace)
    by_ref = list(rows.filter(reference=message.idempotency_key))
    by_id = list(rows.filter(provider_id=message.provider_id)) if message.provider_id else []
    seen, found = set(), []
    for row in by_ref + by_id:
        if row.pk not in seen:
            seen.add(row.pk)
            found.append(row)
    return sorted(found, key=lambda r: r.pk)
