"""The one writer of message outcomes: a monotonic status change plus exactly one Event per
(message, status), ingested through ``console.services.events_ingest`` so that the
``events_committed_register`` listeners (the journey engine) see them.

Event idempotency key: ``msg:<message_id>:<status>``; a duplicate or late webhook therefore never
creates a second event. Preconditions: call inside a transaction (the dispatcher and webhooks do);
the Message row is locked (``select_for_update``; on SQLite the IMMEDIATE transaction is the lock).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.models.outbox import Message, MessageStatusChange, PendingStatus
from channels_app.outbox.states import EVENT_STATUSES, transition
from channels_app.providers.base import redact
from console.live import live_publish
from console.services import events_ingest

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
    items = [
        {
            "event_id": f"msg:{message.pk}:{suffix}",
            "customer": {"external_id": message.customer.external_id},
            "name": name,
            "occurred_at": at,
            "properties": message_event_properties(message, **extra),
        }
        for suffix, name, extra in events
    ]
    outcomes = events_ingest(workspace=message.workspace, items=items, source="channel")
    return [o.id for o in outcomes if o.status == "created" and o.id is not None]


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
    at = at or timezone.now()
    step = transition(message.status, status, message.channel)
    if step.new_status is not None:
        _apply(message, step.new_status, at, error_code, error_reason, price)
    detail = error_reason or ""
    _history(message, status, at, source, step.new_status is not None, detail, raw)
    extra = {"status": status, "reason": error_reason or message.decision_reason}
    if error_code:
        extra["error_code"] = error_code
    extra.update(properties or {})
    events = [
        (s, f"message.{s}", {**extra, "status": s}) for s in step.events if s in EVENT_STATUSES
    ]
    return channel_events_emit(message, events, at)


def _apply(message: Message, new_status: str, at, error_code, error_reason, price) -> None:
    fields = {"status": new_status, "status_at": at}
    if new_status in ("failed", "undelivered", "blocked"):
        fields.update(error_code=error_code[:32], error_reason=(error_reason or "")[:300])
    if new_status == "sent" and message.sent_at is None:
        fields["sent_at"] = at
    if price is not None:
        fields["cost"] = price
    if new_status not in ("queued", "deferred"):
        fields["due_at"] = None
    Message.objects.filter(pk=message.pk).update(**fields)
    for name, value in fields.items():
        setattr(message, name, value)
    live_publish(f"customer:{message.customer_id}", kind="message")


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
