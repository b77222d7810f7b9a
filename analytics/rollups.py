"""The incremental rollup job and the from-scratch rebuild.

``rollups_update`` reads what is new in each source table since its watermark (ids, not times:
a clock that runs fast or slow cannot hide rows), works out which runs, messages and contact
groups that touches, recomputes their facts and adds the difference to the cells: one
transaction per chunk, watermarks moved in the same transaction, so a crash replays a chunk and a
replay changes nothing. ``rollups_rebuild`` deletes a workspace's facts and cells and folds
every source row in again through the same code.

Known limits (docs/metrics.md): a run whose goal is reached without a step (goal "continue")
is refreshed at its next step; on PostgreSQL, ids committed out of order are caught by re-reading
the last ``PG_OVERLAP`` ids of each source.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from analytics import cells
from analytics.loaders import (
    CONTACT_EVENTS,
    contact_kind,
    contacts_of_customers,
    messages_load,
    runs_load,
)
from analytics.models import (
    AnalyticsSettings,
    ContactFact,
    ContactGroupFact,
    MessageFact,
    RollupCell,
    RunFact,
    Watermark,
)
from channels_app.models.consent import ConsentEntry
from channels_app.models.outbox import Message, MessageStatusChange
from console.live import live_publish
from console.models import Event
from journeys.models import Run, Step

log = logging.getLogger("sangam.analytics")

CHUNK = 500
PG_OVERLAP = 200
LOCK = "__lock__"
# source -> (model, the column naming the touched item)
SOURCES = {
    "event": (Event, None),
    "run": (Run, "id"),
    "step": (Step, "run_id"),
    "message": (Message, "id"),
    "status": (MessageStatusChange, "message_id"),
    "consent": (ConsentEntry, None),
}


@dataclass
class Touched:
    runs: set[int] = field(default_factory=set)
    messages: set[int] = field(default_factory=set)
    groups: set[tuple[int, int, str]] = field(default_factory=set)  # (workspace, customer, key)
    deltas: dict[int, cells.Contrib] = field(default_factory=lambda: defaultdict(dict))

    def add(self, workspace_id: int, contrib: cells.Contrib) -> None:
        if contrib:
            self.deltas[workspace_id] = cells.contrib_merge([self.deltas[workspace_id], contrib])


# --- the job ---------------------------------------------------------------------------------


def rollups_update(*, chunk: int = CHUNK, max_chunks: int | None = None) -> int:
    """Fold in everything new since the watermarks; returns the source rows read."""
    total, done = 0, 0
    while max_chunks is None or done < max_chunks:
        read = _chunk(chunk)
        total += read
        done += 1
        if not read:
            break
    return total


def _lock() -> None:
    Watermark.objects.get_or_create(source=LOCK)
    Watermark.objects.select_for_update().filter(source=LOCK).first()


def _chunk(size: int) -> int:
    with transaction.atomic():
        _lock()
        marks = {w.source: w.last_id for w in Watermark.objects.filter(source__in=list(SOURCES))}
        touched, read, moved = Touched(), 0, {}
        overlap = PG_OVERLAP if connection.vendor == "postgresql" else 0
        for source, (model, column) in SOURCES.items():
            mark = marks.get(source, 0)
            fresh = list(
                model.objects.filter(pk__gt=mark).order_by("pk").values_list("pk", flat=True)[:size]
            )
            if not fresh:
                continue
            # PostgreSQL may commit ids out of order: look again at the last ids below the mark.
            recheck = []
            if overlap and source != "consent":
                recheck = list(
                    model.objects.filter(pk__gt=max(0, mark - overlap), pk__lte=mark).values_list(
                        "pk", flat=True
                    )
                )
            read += len(fresh)
            moved[source] = fresh[-1]
            _collect(source, model, column, recheck + fresh, touched)
        if not read:
            return 0
        _fold(touched)
        for source, last in moved.items():
            Watermark.objects.update_or_create(source=source, defaults={"last_id": last})
    return read


def _collect(source: str, model, column: str | None, ids: list[int], touched: Touched) -> None:
    if source == "event":
        _contacts_read(Event.objects.filter(pk__in=ids, name__in=CONTACT_EVENTS), touched)
    elif source == "consent":
        _consent_read(ids, touched)
    elif source in ("run", "step"):
        touched.runs.update(model.objects.filter(pk__in=ids).values_list(column, flat=True))
    else:
        touched.messages.update(model.objects.filter(pk__in=ids).values_list(column, flat=True))


def _fold(touched: Touched, *, follow_runs: bool = True) -> None:
    """Refresh the touched facts (a message touches its run) and apply the cell deltas."""
    message_rows = messages_load(ids=touched.messages) if touched.messages else []
    if follow_runs:
        touched.runs.update(row.run_id for _, row in message_rows if row.run_id)
    _messages_refresh(message_rows, touched)
    _groups_refresh(touched)
    _runs_refresh(touched)
    journeys: dict[int, set[int]] = defaultdict(set)
    for workspace_id, contrib in touched.deltas.items():
        cells_apply(workspace_id, contrib)
        journeys[workspace_id].update(key[0] for key in contrib if key[0])
    for workspace_id, journey_ids in journeys.items():
        live_publish(f"workspace:{workspace_id}", kind="analytics")
        for journey_id in journey_ids:
            live_publish(f"journey:{journey_id}", kind="analytics")


# --- contacts ----------------------------------------------------------------------------------


def _contacts_read(events, touched: Touched) -> None:
    """ContactFacts for new contact events, attributed to the run they are about."""
    found = []
    for event in events.only(
        "id", "workspace_id", "customer_id", "name", "properties", "occurred_at"
    ):
        kind = contact_kind(event.name, event.properties or {})
        if kind is not None:
            found.append((event, kind))
    if not found:
        return
    customers = {e.customer_id for e, _ in found}
    latest = max(e.occurred_at for e, _ in found)
    fields = ("id", "workspace_id", "customer_id", "journey_id", "version__number", "holdout",
              "correlation_value", "entered_at")  # fmt: skip
    runs = list(
        Run.objects.filter(customer_id__in=customers, entered_at__lte=latest)
        .order_by("entered_at", "id")
        .values(*fields)
    )
    named = {_int((e.properties or {}).get("run_id")) for e, _ in found} - {None}
    by_id = {r["id"]: r for r in Run.objects.filter(pk__in=named).values(*fields)}
    facts = []
    for event, (kind, channel) in found:
        run = by_id.get(_int((event.properties or {}).get("run_id")))
        if run is None or run["workspace_id"] != event.workspace_id:
            run = _run_at(runs, event.customer_id, event.occurred_at)
        facts.append(_contact_fact(event, kind, channel, run))
        for r in runs:  # an escalation signal may change any run of this customer open then
            if r["customer_id"] == event.customer_id:
                touched.runs.add(r["id"])
    ContactFact.objects.bulk_create(facts, ignore_conflicts=True)
    touched.groups.update((f.workspace_id, f.customer_id, f.key) for f in facts)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _run_at(runs: list[dict], customer_id: int, at) -> dict | None:
    """The customer's latest run that had entered by ``at``."""
    mine = [r for r in runs if r["customer_id"] == customer_id and r["entered_at"] <= at]
    return mine[-1] if mine else None


def _contact_fact(event: Event, kind: str, channel: str, run: dict | None) -> ContactFact:
    fact = ContactFact(
        event_id=event.pk, workspace_id=event.workspace_id, customer_id=event.customer_id,
        kind=kind, channel=channel, at=event.occurred_at,
    )  # fmt: skip
    if run is not None:
        fact.key = run["correlation_value"] or f"journey:{run['journey_id']}"
        fact.journey_id, fact.version = run["journey_id"], run["version__number"]
        fact.group = "holdout" if run["holdout"] else "treatment"
    return fact


def _window(workspace_id: int) -> timedelta:
    days = (
        AnalyticsSettings.objects.filter(workspace_id=workspace_id)
        .values_list("repeat_window_days", flat=True)
        .first()
    )
    return timedelta(days=days or 7)


def _groups_refresh(touched: Touched) -> None:
    if not touched.groups:
        return
    customers = {c for _, c, _ in touched.groups}
    contacts = contacts_of_customers(customers)
    existing = {
        (g.workspace_id, g.customer_id, g.key): g
        for g in ContactGroupFact.objects.filter(customer_id__in=customers)
    }
    windows: dict[int, timedelta] = {}
    for workspace_id, customer_id, key in touched.groups:
        window = windows.setdefault(workspace_id, _window(workspace_id))
        mine = [c for c in contacts.get(customer_id, []) if c.key == key]
        new = cells.episodes_contrib(mine, window)
        fact = existing.get((workspace_id, customer_id, key))
        old = cells.contrib_load(fact.contrib if fact else None)
        touched.add(workspace_id, cells.contrib_diff(old, new))
        ContactGroupFact.objects.update_or_create(
            workspace_id=workspace_id, customer_id=customer_id, key=key,
            defaults={"contrib": cells.contrib_dump(new)},
        )  # fmt: skip


# --- messages, runs, consent --------------------------------------------------------------------


def _messages_refresh(rows, touched: Touched) -> None:
    if not rows:
        return
    existing = {
        f.message_id: f for f in MessageFact.objects.filter(message_id__in=[m.pk for m, _ in rows])
    }
    creates, updates = [], []
    for message, row in rows:
        reason = message.error_code or message.error_reason
        new = cells.contrib_merge([cells.message_contrib(row), cells.failure_contrib(row, reason)])
        fact = existing.get(message.pk)
        old = cells.contrib_load(fact.contrib if fact else None)
        touched.add(message.workspace_id, cells.contrib_diff(old, new))
        dumped = cells.contrib_dump(new)
        if fact is None:
            creates.append(
                MessageFact(message=message, workspace_id=message.workspace_id, contrib=dumped)
            )
        elif fact.contrib != dumped:
            fact.contrib = dumped
            updates.append(fact)
    MessageFact.objects.bulk_create(creates)
    MessageFact.objects.bulk_update(updates, ["contrib"], batch_size=500)


def _runs_refresh(touched: Touched) -> None:
    if not touched.runs:
        return
    loaded = runs_load(touched.runs)
    messages: dict[int, list] = defaultdict(list)
    for _, row in messages_load(run_ids=list(loaded)):
        messages[row.run_id].append(row)
    contacts = contacts_of_customers({row.customer_id for _, row in loaded.values()})
    existing = {f.run_id: f for f in RunFact.objects.filter(run_id__in=list(loaded))}
    creates, updates = [], []
    for run_id, (run, row) in loaded.items():
        new, flags = cells.run_contrib(row, messages[run_id], contacts.get(row.customer_id, []))
        fact = existing.get(run_id)
        old = cells.contrib_load(fact.contrib if fact else None)
        touched.add(run.workspace_id, cells.contrib_diff(old, new))
        values = dict(
            workspace_id=run.workspace_id, journey_id=row.journey_id, version=row.version,
            customer_id=row.customer_id, entered_at=row.entered_at, holdout=row.holdout,
            status=row.status, last_node=row.last_node[:64], contrib=cells.contrib_dump(new),
            **flags,
        )  # fmt: skip
        if fact is None:
            creates.append(RunFact(run_id=run_id, **values))
        else:
            for name, value in values.items():
                setattr(fact, name, value)
            updates.append(fact)
    RunFact.objects.bulk_create(creates)
    RunFact.objects.bulk_update(
        updates,
        ["status", "completed", "digital", "escalated", "last_node", "contrib"],
        batch_size=500,
    )


def _consent_read(ids: list[int], touched: Touched) -> None:
    for workspace_id, channel, purpose, at in ConsentEntry.objects.filter(
        pk__in=ids, status="withdrawn"
    ).values_list("workspace_id", "channel", "purpose", "at"):
        touched.add(workspace_id, cells.optout_contrib(channel, purpose, at))


# --- cells ---------------------------------------------------------------------------------------


def cells_apply(workspace_id: int, contrib: cells.Contrib) -> None:
    """Add ``contrib`` to the workspace's cells: insert the missing ones, then one bulk update."""
    if not contrib:
        return
    fields = ("journey_id", "version", "node_id", "channel", "hour", "metric", "dim")
    RollupCell.objects.bulk_create(
        [
            RollupCell(workspace_id=workspace_id, **dict(zip(fields, _typed(key), strict=True)))
            for key in contrib
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    hours = {_typed(key)[4] for key in contrib}
    metrics = {key[5] for key in contrib}
    found = RollupCell.objects.filter(workspace_id=workspace_id, hour__in=hours, metric__in=metrics)
    changed = []
    for cell in found:
        key = (cell.journey_id, cell.version, cell.node_id, cell.channel, cell.hour.isoformat(),
               cell.metric, cell.dim)  # fmt: skip
        delta = contrib.get(key)
        if delta:
            cell.count += delta[0]
            cell.amount += delta[1]
            changed.append(cell)
    RollupCell.objects.bulk_update(changed, ["count", "amount"], batch_size=500)


def _typed(key: cells.CellKey) -> tuple:
    from datetime import datetime

    journey_id, version, node_id, channel, hour, metric, dim = key
    return journey_id, version, node_id, channel, datetime.fromisoformat(hour), metric, dim


# --- rebuild -------------------------------------------------------------------------------------


@transaction.atomic
def rollups_rebuild(workspace) -> int:
    """Recompute a workspace's facts and cells from every source row (one transaction, under the
    job's lock), in chunks so memory stays flat. Returns the cells written."""
    _lock()
    for model in (RollupCell, RunFact, MessageFact, ContactFact, ContactGroupFact):
        model.objects.filter(workspace=workspace).delete()
    contacts = Event.objects.filter(workspace=workspace, name__in=CONTACT_EVENTS)
    for ids in _id_chunks(contacts):
        touched = Touched()
        _contacts_read(Event.objects.filter(pk__in=ids), touched)
        touched.runs.clear()  # every run is folded below
        _fold(touched)
    for ids in _id_chunks(Message.objects.filter(workspace=workspace)):
        _fold(Touched(messages=set(ids)), follow_runs=False)
    for ids in _id_chunks(Run.objects.filter(workspace=workspace)):
        _fold(Touched(runs=set(ids)))
    for ids in _id_chunks(ConsentEntry.objects.filter(workspace=workspace)):
        touched = Touched()
        _consent_read(ids, touched)
        _fold(touched)
    AnalyticsSettings.objects.update_or_create(
        workspace=workspace, defaults={"rebuilt_at": timezone.now()}
    )
    return RollupCell.objects.filter(workspace=workspace).count()


def _id_chunks(qs, size: int = 2000):
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def rollups_sweep(*, seconds: float | None = None, idle: float = 1.0) -> int:
    """Keep folding for about ``seconds`` (default settings.SWEEP_SECONDS), so dashboards lag ~1 s."""
    from django.conf import settings

    deadline = time.monotonic() + (settings.SWEEP_SECONDS if seconds is None else seconds)
    total = 0
    while True:
        total += rollups_update()
        if time.monotonic() >= deadline:
            return total
        time.sleep(idle)
