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
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from analytics import cells
from analytics.clocks import clocks_forget, journey_at
from analytics.loaders import (
    CONTACT_EVENTS,
    contact_kind,
    contacts_of_customers,
    messages_load,
    optouts_of_customers,
    runs_load,
    touches_of_customers,
)
from analytics.models import (
    AnalyticsSettings,
    ContactFact,
    ContactGroupFact,
    DailyCell,
    MessageFact,
    PendingRun,
    RollupCell,
    RunFact,
    Watermark,
    cell_key,
)
from analytics.optouts import optouts_by_run
from channels_app.models.consent import ConsentEntry
from channels_app.models.outbox import Message, MessageStatusChange
from console.db import values_insert, values_update
from console.live import live_publish
from console.models import Event, Workspace
from journeys.models import Run, Step

log = logging.getLogger("sangam.analytics")

# Source rows read per source and transaction. Each chunk refreshes every run it touches, so a
# backlog folds faster in larger chunks (10,000 rows: 1.4x the rate of 2,000 at 10,000 engine
# runs, each run refreshed 3.3 times instead of 4.1); on SQLite a chunk also holds the one write
# lock, which the engine's workers wait for, so it stays small there.
CHUNK_SQLITE = 2_000
CHUNK_POSTGRESQL = 10_000
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
        """Add in place (re-merging the whole chunk's deltas per item was quadratic)."""
        if contrib:
            cells.contrib_add(self.deltas[workspace_id], contrib)


# --- the job ---------------------------------------------------------------------------------


def rollups_update(*, chunk: int | None = None, max_chunks: int | None = None) -> int:
    """Fold in everything new since the watermarks; returns the source rows read.

    While a backlog is read (a chunk came back full), the runs each chunk touches are deferred
    (``PendingRun``) and refreshed once, when the job has caught up or has deferred for
    ``ROLLUP_DEFER_SECONDS``: in a backlog a run is touched by several chunks (its steps, its
    messages and their statuses arrive in different ones) and was refreshed by each."""
    from django.conf import settings

    chunk = chunk or _chunk_size()
    total, done, deferred_at = 0, 0, None
    while max_chunks is None or done < max_chunks:
        read, deferred = _chunk(chunk, defer=deferred_at is not None)
        total += read
        done += 1
        if deferred and deferred_at is None:
            deferred_at = time.monotonic()
        if deferred_at is not None and (
            time.monotonic() - deferred_at >= settings.ROLLUP_DEFER_SECONDS
        ):
            pending_flush(chunk)
            deferred_at = None
        if not read:
            break
    pending_flush(chunk)
    return total


def _chunk_size() -> int:
    return CHUNK_POSTGRESQL if connection.vendor == "postgresql" else CHUNK_SQLITE


def _lock() -> None:
    Watermark.objects.get_or_create(source=LOCK)
    Watermark.objects.select_for_update().filter(source=LOCK).first()


def _chunk(size: int, *, defer: bool = False) -> tuple[int, bool]:
    """Fold in up to ``size`` new rows per source; returns (rows read, whether the touched runs
    were deferred: they are when ``defer`` or when a source filled its chunk)."""
    clocks_forget()
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
            defer = defer or len(fresh) == size  # more is waiting: a backlog
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
            return 0, False
        _fold(touched, defer=defer)
        for source, last in moved.items():
            Watermark.objects.update_or_create(source=source, defaults={"last_id": last})
    return read, defer


def pending_flush(size: int | None = None) -> int:
    """Refresh the deferred runs, ``size`` per transaction (each under the job's lock, each
    deleting what it refreshed); returns how many."""
    size = size or _chunk_size()
    done = 0
    while PendingRun.objects.exists():  # read before taking the lock: usually there are none
        clocks_forget()
        with transaction.atomic():
            _lock()
            ids = list(
                PendingRun.objects.order_by("run_id").values_list("run_id", flat=True)[:size]
            )
            if not ids:
                return done
            touched = Touched(runs=set(ids))
            _runs_refresh(touched, messages_load(run_ids=ids))
            _deltas_apply(touched)
            PendingRun.objects.filter(run_id__in=ids).delete()
        done += len(ids)
    return done


def _collect(source: str, model, column: str | None, ids: list[int], touched: Touched) -> None:
    if source == "event":
        _contacts_read(Event.objects.filter(pk__in=ids, name__in=CONTACT_EVENTS), touched)
    elif source == "consent":
        _consent_read(ids, touched)
    elif source in ("run", "step"):
        touched.runs.update(model.objects.filter(pk__in=ids).values_list(column, flat=True))
    else:
        touched.messages.update(model.objects.filter(pk__in=ids).values_list(column, flat=True))


def _fold(touched: Touched, *, follow_runs: bool = True, defer: bool = False) -> None:
    """Refresh the touched facts (a message touches its run) and apply the cell deltas;
    ``defer``: the touched runs are left to ``pending_flush``."""
    if touched.messages and follow_runs:
        owners = list(
            Message.objects.filter(pk__in=list(touched.messages)).values_list(
                "run_id", "customer_id"
            )
        )
        touched.runs.update(run_id for run_id, _ in owners if run_id)
        # A message sent (or created) before an opt-out may become its last touch.
        touched.runs.update(_runs_of_optout_customers({c for _, c in owners}))
    # One read serves both: the touched messages and every message of the touched runs.
    loaded = messages_load(ids=touched.messages, run_ids=() if defer else touched.runs)
    _messages_refresh([m for m in loaded if m.row.message_id in touched.messages], touched)
    _groups_refresh(touched)
    if defer:
        _pending_add(touched.runs)
    else:
        _runs_refresh(touched, loaded)
    _deltas_apply(touched)


def _pending_add(run_ids: set[int]) -> None:
    values_insert(PendingRun, ["run_id"], [(pk,) for pk in sorted(run_ids)], ignore_conflicts=True)


def _deltas_apply(touched: Touched) -> None:
    """Add the touched facts' deltas to the cells and tell the live views."""
    journeys: dict[int, set[int]] = defaultdict(set)
    for workspace_id, contrib in touched.deltas.items():
        cells_apply(workspace_id, contrib)
        journeys[workspace_id].update(key[0] for key in contrib if key[0])
    for workspace_id, journey_ids in journeys.items():
        live_publish(f"workspace:{workspace_id}", kind="analytics")
        for journey_id in journey_ids:
            live_publish(f"journey:{journey_id}", kind="analytics")


def _runs_of_optout_customers(customer_ids: set[int]) -> set[int]:
    if not customer_ids:
        return set()
    withdrew = ConsentEntry.objects.filter(customer_id__in=list(customer_ids), status="withdrawn")
    return set(
        Run.objects.filter(
            customer_id__in=withdrew.values_list("customer_id", flat=True).distinct()
        ).values_list("id", flat=True)
    )


# --- contacts ----------------------------------------------------------------------------------


def _contacts_read(events, touched: Touched) -> None:
    """ContactFacts for new contact events, attributed to the run they are about."""
    found = []
    for event in events.only(
        "id", "workspace_id", "customer_id", "name", "properties", "occurred_at"
    ):
        kind = contact_kind(event.name, event.properties or {})
        if kind is not None:
            # Events are stamped in real time; runs in journey time (see analytics.clocks).
            event.occurred_at = journey_at(event.workspace_id, event.occurred_at)
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
        (ws, customer, key): (pk, contrib)
        for pk, ws, customer, key, contrib in ContactGroupFact.objects.filter(
            workspace_id__in={w for w, _, _ in touched.groups}, customer_id__in=customers
        ).values_list("id", "workspace_id", "customer_id", "key", "contrib")
    }
    windows: dict[int, timedelta] = {}
    creates, updates = [], []
    for workspace_id, customer_id, key in sorted(touched.groups):
        if workspace_id not in windows:
            windows[workspace_id] = _window(workspace_id)
        mine = [c for c in contacts.get(customer_id, []) if c.key == key]
        new = cells.episodes_contrib(mine, windows[workspace_id])
        pk, old = existing.get((workspace_id, customer_id, key), (None, None))
        touched.add(workspace_id, cells.contrib_diff(cells.contrib_load(old), new))
        dumped = cells.contrib_dump(new)
        if pk is None:
            creates.append((workspace_id, customer_id, key, dumped))
        elif old != dumped:
            updates.append((pk, [dumped]))
    values_insert(ContactGroupFact, ["workspace", "customer_id", "key", "contrib"], creates)
    values_update(ContactGroupFact, ["contrib"], updates)


# --- messages, runs, consent --------------------------------------------------------------------


def _messages_refresh(rows, touched: Touched) -> None:
    if not rows:
        return
    existing = dict(
        MessageFact.objects.filter(message_id__in=[m.row.message_id for m in rows]).values_list(
            "message_id", "contrib"
        )
    )
    creates, updates = [], []
    for workspace_id, failure, row in rows:
        new = cells.contrib_merge([cells.message_contrib(row), cells.failure_contrib(row, failure)])
        old = existing.get(row.message_id)
        touched.add(workspace_id, cells.contrib_diff(cells.contrib_load(old), new))
        dumped = cells.contrib_dump(new)
        if row.message_id not in existing:
            creates.append((row.message_id, workspace_id, dumped))
        elif old != dumped:
            updates.append((row.message_id, [dumped]))
    values_insert(MessageFact, ["message", "workspace", "contrib"], creates)
    values_update(MessageFact, ["contrib"], updates)


RUN_FACT_FIELDS = ["status", "completed", "digital", "escalated", "opted_out", "last_node",
                   "contrib"]  # fmt: skip
RUN_FACT_CREATE = ["run", "workspace", "journey_id", "version", "customer_id", "entered_at",
                   "holdout", *RUN_FACT_FIELDS]  # fmt: skip


def _runs_refresh(touched: Touched, message_rows: list) -> None:
    """``message_rows``: loaded messages including every message of the touched runs."""
    if not touched.runs:
        return
    loaded = runs_load(touched.runs)
    messages: dict[int, list] = defaultdict(list)
    for m in message_rows:
        if m.row.run_id in loaded:
            messages[m.row.run_id].append(m.row)
    customers = {run.row.customer_id for run in loaded.values()}
    contacts = contacts_of_customers(customers)
    blamed = _optouts_blamed(customers)
    existing = {
        values[0]: list(values[1:])
        for values in RunFact.objects.filter(run_id__in=list(loaded)).values_list(
            "run_id", *RUN_FACT_FIELDS
        )
    }
    creates, updates = [], []
    for run_id, (workspace_id, row) in loaded.items():
        new, flags = cells.run_contrib(
            row, messages[run_id], contacts.get(row.customer_id, []), blamed.get(run_id, ())
        )
        old = existing.get(run_id)
        touched.add(workspace_id, cells.contrib_diff(cells.contrib_load(old and old[-1]), new))
        dumped = cells.contrib_dump(new)
        values = [row.status, flags["completed"], flags["digital"], flags["escalated"],
                  flags["opted_out"], row.last_node[:64], dumped]  # fmt: skip
        if old is None:
            creates.append([run_id, workspace_id, row.journey_id, row.version, row.customer_id,
                            row.entered_at, row.holdout, *values])  # fmt: skip
        elif values != old:
            updates.append((run_id, values))
    values_insert(RunFact, RUN_FACT_CREATE, creates)
    values_update(RunFact, RUN_FACT_FIELDS, updates)


def _optouts_blamed(customer_ids: set[int]) -> dict[int, list]:
    """{run id: opt-outs attributed to its messages} for these customers' runs."""
    optouts = optouts_of_customers(customer_ids)
    touches = touches_of_customers(set(optouts))
    blamed: dict[int, list] = {}
    for customer_id, mine in optouts.items():
        blamed.update(optouts_by_run(mine, touches.get(customer_id, [])))
    return blamed


def _consent_read(ids: list[int], touched: Touched) -> None:
    """Channel opt-out counts, and the customer's runs refreshed (the opt-out may be theirs)."""
    withdrew = set()
    for workspace_id, customer_id, channel, purpose, at in ConsentEntry.objects.filter(
        pk__in=ids, status="withdrawn"
    ).values_list("workspace_id", "customer_id", "channel", "purpose", "at"):
        at = journey_at(workspace_id, at)
        touched.add(workspace_id, cells.optout_contrib(channel, purpose, at))
        withdrew.add(customer_id)
    if withdrew:
        touched.runs.update(
            Run.objects.filter(customer_id__in=withdrew).values_list("id", flat=True)
        )


# --- cells ---------------------------------------------------------------------------------------


def cells_apply(workspace_id: int, contrib: cells.Contrib) -> None:
    """Add ``contrib`` to the workspace's hourly cells and to its daily cells (days of the
    workspace's time zone): one upsert per row that adds to what is there."""
    if not contrib:
        return
    hourly = {_typed(key): value for key, value in contrib.items()}
    _cells_upsert(RollupCell, "hour", workspace_id, hourly)
    _cells_upsert(DailyCell, "day", workspace_id, daily_of(hourly, _tz(workspace_id)))


def daily_of(hourly: dict[tuple, list[int]], tz: ZoneInfo) -> dict[tuple, list[int]]:
    """Hourly cells summed per day of ``tz`` that each hour starts in."""
    daily: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for (journey_id, version, node_id, channel, hour, metric, dim), (
        count,
        amount,
    ) in hourly.items():
        cell = daily[(journey_id, version, node_id, channel, hour.astimezone(tz).date(), metric,
                      dim)]  # fmt: skip
        cell[0] += count
        cell[1] += amount
    return daily


def _tz(workspace_id: int) -> ZoneInfo:
    name = Workspace.objects.filter(pk=workspace_id).values_list("timezone", flat=True).first()
    return ZoneInfo(name or "Asia/Kolkata")


def _cells_upsert(model, when: str, workspace_id: int, rows: dict[tuple, list[int]]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE adding the deltas (SQLite 3.24+ and PostgreSQL)."""
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    keys = ["workspace_id", *cell_key(when)[1:]]
    names = ", ".join(q(k) for k in [*keys, "count", "amount"])
    adapt = (
        connection.ops.adapt_datetimefield_value
        if when == "hour"
        else connection.ops.adapt_datefield_value
    )
    sql = (
        f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * 10)}) "
        f"ON CONFLICT ({', '.join(q(k) for k in keys)}) DO UPDATE SET "
        f"{q('count')} = {table}.{q('count')} + excluded.{q('count')}, "
        f"{q('amount')} = {table}.{q('amount')} + excluded.{q('amount')}"
    )
    adapted: dict = {}  # a chunk's cells share a few hours or days: adapt each once
    params = [
        (workspace_id, j, v, n, ch, adapted.get(t) or adapted.setdefault(t, adapt(t)), m, d,
         count, amount)
        for (j, v, n, ch, t, m, d), (count, amount) in sorted(rows.items())
        if count or amount
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _typed(key: cells.CellKey) -> tuple:
    from datetime import datetime

    journey_id, version, node_id, channel, hour, metric, dim = key
    return journey_id, version, node_id, channel, datetime.fromisoformat(hour), metric, dim


# --- rebuild -------------------------------------------------------------------------------------


@transaction.atomic
def rollups_rebuild(workspace) -> int:
    """Recompute a workspace's facts and cells from every source row (one transaction, under the
    job's lock), in chunks so memory stays flat. Returns the cells written."""
    clocks_forget()
    _lock()
    for model in (RollupCell, DailyCell, RunFact, MessageFact, ContactFact, ContactGroupFact):
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


@transaction.atomic
def daily_cells_rebuild(workspace) -> int:
    """Recompute a workspace's daily cells from its hourly ones (after its time zone changed,
    or after hourly cells were loaded in bulk), under the job's lock. Returns daily cells."""
    _lock()
    DailyCell.objects.filter(workspace=workspace).delete()
    tz = ZoneInfo(workspace.timezone or "Asia/Kolkata")
    fields = ("journey_id", "version", "node_id", "channel", "hour", "metric", "dim")
    daily: dict[tuple, list[int]] = {}
    days: dict = {}  # hour -> day, computed once per hour
    rows = RollupCell.objects.filter(workspace=workspace).values_list(*fields, "count", "amount")
    for j, v, n, ch, hour, m, d, count, amount in rows.iterator(chunk_size=20_000):
        day = days.get(hour)
        if day is None:
            day = days[hour] = hour.astimezone(tz).date()
        cell = daily.get((j, v, n, ch, day, m, d))
        if cell is None:
            daily[(j, v, n, ch, day, m, d)] = [count, amount]
        else:
            cell[0] += count
            cell[1] += amount
    _cells_upsert(DailyCell, "day", workspace.pk, daily)
    return DailyCell.objects.filter(workspace=workspace).count()


def _id_chunks(qs, size: int = 2000):
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def rollups_sweep(*, seconds: float | None = None, idle: float = 1.0) -> int:
    """Keep folding for about ``seconds`` (default settings.ROLLUP_SWEEP_SECONDS, 55: the
    schedule starts one a minute, so one is nearly always folding and dashboards lag ~1 s; the
    other sweeps free their worker sooner). Two that overlap take turns at the job's lock."""
    from django.conf import settings

    deadline = time.monotonic() + (settings.ROLLUP_SWEEP_SECONDS if seconds is None else seconds)
    total = 0
    while True:
        total += rollups_update()
        if time.monotonic() >= deadline:
            return total
        time.sleep(idle)
