"""Status webhooks: match each outcome to its message (our reference first, then the provider
id), apply it through the one outcome writer, or park it until the message is known."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q

from channels_app.models.outbox import Message, PendingStatus
from channels_app.outbox.outcomes import (
    OutcomeReport,
    OutcomeWrites,
    message_outcome_record,
    message_outcomes_record,
    messages_read,
    messages_unchanged,
    outcomes_plan,
    outcomes_write,
    pending_statuses_for,
    status_park,
)
from channels_app.providers.base import CallStatus, Outcome, StatusUpdate, parse_timestamp


def message_for(*, workspace, provider_kind: str, provider_id: str, reference: str):
    qs = Message.objects.select_related("customer", "workspace").filter(workspace=workspace)
    if reference:
        found = qs.filter(idempotency_key=reference).first()
        if found is not None:
            return found
    if provider_id:
        return qs.filter(provider_id=provider_id).order_by("-id").first()
    return None


def outcome_apply(*, message: Message, outcome: Outcome, source: str) -> list[int]:
    """Apply one provider outcome to its message (inside the caller's transaction)."""
    provider_id = outcome.provider_id if isinstance(outcome, StatusUpdate) else outcome.call_id
    if provider_id and not message.provider_id:
        Message.objects.filter(pk=message.pk).update(provider_id=provider_id)
        message.provider_id = provider_id
    if isinstance(outcome, CallStatus):
        from channels_app.ivr.services import call_status_apply

        return call_status_apply(message=message, outcome=outcome, source=source)
    if outcome.status == "queued":
        return []  # the provider's own queue: our "sent" already covers it
    return message_outcome_record(
        message=message,
        status=outcome.status,
        at=outcome.at,
        source=source,
        raw=dict(outcome.raw),
        error_code=outcome.error_code,
        error_reason=outcome.error_reason,
        price=outcome.price,
    )


def _encode(outcome: Outcome) -> dict[str, Any]:
    data = dataclasses.asdict(outcome)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
        elif isinstance(value, Decimal):
            data[key] = str(value)
    data["type"] = "call" if isinstance(outcome, CallStatus) else "status"
    return data


def _decode(payload: dict[str, Any]) -> Outcome:
    data = dict(payload)
    cls = CallStatus if data.pop("type", "status") == "call" else StatusUpdate
    data["at"] = parse_timestamp(data.get("at"))
    if data.get("price") not in (None, ""):
        data["price"] = Decimal(data["price"])
    return cls(**data)


def status_receive(*, workspace, provider_kind: str, outcome: Outcome, source: str) -> str:
    """Apply ``outcome`` or park it; returns "applied" or "parked"."""
    provider_id = outcome.provider_id if isinstance(outcome, StatusUpdate) else outcome.call_id
    message = message_for(
        workspace=workspace,
        provider_kind=provider_kind,
        provider_id=provider_id,
        reference=outcome.reference,
    )
    if message is None and isinstance(outcome, CallStatus):
        from channels_app.ivr.services import inbound_call_status_apply

        if inbound_call_status_apply(workspace=workspace, outcome=outcome, source=source):
            return "applied"
    if message is None:
        status_park(
            workspace=workspace,
            provider_kind=provider_kind,
            provider_id=provider_id,
            reference=outcome.reference,
            payload=_encode(outcome),
        )
        return "parked"
    outcome_apply(message=message, outcome=outcome, source=source)
    return "applied"


def statuses_receive(
    *, workspace, provider_kind: str, outcomes: list[Outcome], source: str
) -> dict[str, int]:
    """``status_receive`` for every outcome of one webhook: the messages are found (and locked)
    with two queries and their statuses recorded by one batch writer; call statuses and unknown
    messages take the one-by-one path first. Returns counts per result."""
    found = _messages_for_many(workspace, [o for o in outcomes if isinstance(o, StatusUpdate)])
    reports, also, rest = _reports(outcomes, found, source)
    counts = {"applied": len(outcomes) - len(rest), "parked": 0}
    for outcome in rest:
        counts[status_receive(workspace=workspace, provider_kind=provider_kind,
                              outcome=outcome, source=source)] += 1  # fmt: skip
    message_outcomes_record(reports, also=also)
    return counts


@dataclass
class StatusBatch:
    """A webhook's statuses worked out with reads only (``statuses_prepare``): the writes, and
    the (status, provider id) each message had when read, checked again before writing."""

    applied: int
    plan: OutcomeWrites
    read: dict[int, tuple[str, str]]


def statuses_prepare(*, workspace, outcomes: list[Outcome], source: str) -> StatusBatch | None:
    """``statuses_receive`` without writing, for a caller outside any transaction (SQLite,
    before its write lock): None when an outcome needs the one-by-one path (a call status, a
    message not known yet), which then runs inside the lock."""
    updates = [o for o in outcomes if isinstance(o, StatusUpdate)]
    if len(updates) != len(outcomes):
        return None
    found = _messages_for_many(workspace, updates)
    read = messages_read(found.values())
    reports, also, rest = _reports(outcomes, found, source)
    if rest:
        return None
    return StatusBatch(len(outcomes), outcomes_plan(reports, also=also), read)


def statuses_write(batch: StatusBatch) -> bool:
    """Write a prepared batch inside the caller's transaction, if every message still has the
    status and provider id it was read with; False (nothing written) when one moved."""
    if not messages_unchanged(batch.read):
        return False
    outcomes_write(batch.plan)
    return True


def _reports(
    outcomes: list[Outcome], found: dict[tuple[str, str], Message], source: str
) -> tuple[list[OutcomeReport], list[tuple[Message, tuple[str, ...]]], list[Outcome]]:
    """The reports for the outcomes whose message ``found`` holds (a provider id seen for the
    first time is written with them: ``also``), and the outcomes left for the one-by-one path."""
    reports: list[OutcomeReport] = []
    also: list[tuple[Message, tuple[str, ...]]] = []
    rest: list[Outcome] = []
    for outcome in outcomes:
        message = None
        if isinstance(outcome, StatusUpdate):
            message = found.get(("ref", outcome.reference)) or found.get(
                ("id", outcome.provider_id)
            )
        if message is None:
            rest.append(outcome)
            continue
        if outcome.provider_id and not message.provider_id:
            message.provider_id = outcome.provider_id
            also.append((message, ("provider_id",)))
        if outcome.status == "queued":
            continue  # the provider's own queue: our "sent" already covers it
        reports.append(
            OutcomeReport(
                message,
                outcome.status,
                outcome.at,
                source,
                dict(outcome.raw),
                outcome.error_code,
                outcome.error_reason,
                outcome.price,
            )  # fmt: skip
        )
    return reports, also, rest


def _messages_for_many(workspace, updates: list[StatusUpdate]) -> dict[tuple[str, str], Message]:
    """(("ref", our reference) | ("id", provider id)) -> the message, locked; one object per
    message so that several statuses of one message see each other."""
    refs = {u.reference for u in updates if u.reference}
    provider_ids = {u.provider_id for u in updates if u.provider_id}
    if not refs and not provider_ids:
        return {}
    # One indexed read per key kind: an OR across the two columns, or an ORDER BY id (which
    # SQLite answers by walking the workspace's messages in id order), scans the outbox.
    # Outcomes need the message's own columns only (events name the customer by id); the
    # workspace is the webhook's.
    base = Message.objects.only(*Message.OUTCOME_FIELDS)
    if connection.vendor == "postgresql":  # locked in id order, so two webhooks cannot deadlock
        base = base.select_for_update(of=("self",), no_key=True).order_by("id")
    rows = list(base.filter(workspace=workspace, idempotency_key__in=refs)) if refs else []
    known = {m.provider_id for m in rows if m.provider_id}
    missing = provider_ids - known
    if missing:
        found_by_id = base.filter(provider_id__in=missing)
        rows += [m for m in found_by_id if m.workspace_id == workspace.pk]
    found: dict[tuple[str, str], Message] = {}
    by_pk: dict[int, Message] = {}
    for message in sorted(rows, key=lambda m: m.pk):  # the newest send with a provider id wins
        message = by_pk.setdefault(message.pk, message)
        message.workspace = workspace
        if message.idempotency_key in refs:
            found[("ref", message.idempotency_key)] = message
        if message.provider_id in provider_ids:
            found[("id", message.provider_id)] = message
    return found


def pending_statuses_apply_many(messages: list[Message]) -> int:
    """``pending_statuses_apply`` for a batch of messages: one query finds the parked statuses
    of them all (usually none)."""
    if not messages:
        return 0
    keys = [m.idempotency_key for m in messages]
    provider_ids = [m.provider_id for m in messages if m.provider_id]
    workspaces = {m.workspace_id for m in messages}
    match = (
        Q(reference__in=keys) | Q(provider_id__in=provider_ids)
        if provider_ids
        else Q(reference__in=keys)
    )
    if not PendingStatus.objects.filter(match, workspace_id__in=workspaces).exists():
        return 0
    return sum(pending_statuses_apply(message=message) for message in messages)


def pending_statuses_apply(*, message: Message) -> int:
    """Apply (in arrival order) and delete the statuses parked for ``message``."""
    rows = pending_statuses_for(message)
    for row in rows:
        outcome_apply(
            message=message, outcome=_decode(row.payload), source=f"parked:{row.provider_kind}"
        )
    PendingStatus.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)
