"""Batch stepping: claim many due runs, advance each with the pure engine, write it all at once.

One batch is one transaction: the claim, every run's new state, its steps, the outbox messages it
asked for, the counters and the inputs it consumed. A worker killed anywhere inside loses the
whole transaction (the runs stay due and are claimed again); steps are unique on (run, node,
attempt) and messages on their idempotency key, so a replay writes nothing twice.

Claiming: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers share the due runs; on
SQLite the batch transaction is IMMEDIATE (one writer), so reading the runs inside it claims them.
Either way a claim lives exactly as long as its transaction: nothing is written to mark it.

SQLite's sweep, called outside a transaction, prepares its batch before taking the write lock
(``_advance_due_prepared``): the runs are read and advanced with reads only, and the transaction
that writes them first checks that each still holds what was read (``batch_write``), so that
another worker can write while this one computes. The sweep's lease keeps two workers from
preparing the same batch; a batch that no longer fits is done again inside the lock.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from channels_app.outbox.services import messages_batch, messages_write
from channels_app.policies.inputs import batch_inputs, consent_states_of
from console.db import prepares_outside_lock, reads_only, rows_update, values_insert
from console.dbstats import statistics_keep_up
from console.leases import lease_give_back, lease_take
from console.live import live_publish
from console.models import Customer, Workspace
from journeys.clock import Speed, real_now
from journeys.engine import (
    Advance,
    CallRequest,
    CustomerNeeded,
    CustomerUnread,
    CustomerView,
    Input,
    JourneyVersion,
    RunState,
    SendRequest,
    Step,
    UpdateAttribute,
    journey_parse,
    run_advance,
)
from journeys.engine.timeutil import DEFAULT_TZ
from journeys.models import OPEN_RUN_STATUSES, EngineSettings, NodeCounter, Run, RunInput
from journeys.models import JourneyVersion as VersionRow
from journeys.models import Step as StepRow
from journeys.services.effects import EffectResult, effects_apply
from journeys.services.inputs import input_decode

log = logging.getLogger("sangam.journeys")

# Due runs one worker claims and advances per transaction: 1,000 made 3-7 % more steps/s than 500
# on PostgreSQL (fewer statements and commits per step; runs alternated), the same on SQLite.
BATCH_SIZE = 1000
# Immediate verdicts (blocked, failed, deferred) are fed back at once; a chain of sends each
# blocked at once needs one round per send, bounded like the engine's own step budget.
MAX_ROUNDS = 20
WORKER_ID = f"{os.uname().nodename}:{os.getpid()}"

_graphs: dict[int, JourneyVersion] = {}


def graph_of(version_id: int, graph: dict) -> JourneyVersion:
    """The parsed graph of a version; versions are immutable, so the parse is cached."""
    parsed = _graphs.get(version_id)
    if parsed is None:
        if len(_graphs) > 2000:
            _graphs.clear()
        parsed = _graphs[version_id] = journey_parse(graph)
    return parsed


def _crash_point(name: str) -> None:
    """Test hook: SANGAM_ENGINE_CRASH_AT=<name> kills this process there (the worker-kill test)."""
    if os.environ.get("SANGAM_ENGINE_CRASH_AT") == name:
        os.kill(os.getpid(), 9)


# --- customers as the engine sees them ----------------------------------------------------------


def customer_views(customers: Iterable[Customer], at: datetime) -> dict[int, CustomerView]:
    """Snapshots for the engine: attributes, consent per channel.purpose, reachability."""
    customers = {c.pk: c for c in customers}
    states = consent_states_of(list(customers), at) if customers else {}
    views = {}
    for pk, customer in customers.items():
        consent = {f"{ch}.{purpose}": s for (ch, purpose), s in states.get(pk, {}).items()}
        phone = bool(customer.phone)
        views[pk] = CustomerView(
            customer_id=str(pk),
            tz=customer.timezone or DEFAULT_TZ,
            language=customer.language,
            attributes=dict(customer.attributes or {}),
            consent=consent,
            reachable={"sms": phone, "voice": phone, "whatsapp": phone and customer.whatsapp},
        )
    return views


# --- one run's work in a batch -----------------------------------------------------------------


RUN_FIELDS = [
    "state", "status", "node_id", "wake_at", "due_at", "waiting_event", "waiting_correlation",
    "message_key", "reason", "holdout", "goal_reached_at", "ended_at", "active_key",
]  # fmt: skip
_WRITTEN = tuple(f for f in RUN_FIELDS if f not in ("state", "ended_at", "active_key"))


@dataclass
class Work:
    run: Run | ClaimedRun
    graph: JourneyVersion
    state: RunState
    now: datetime
    customer: CustomerView
    attempts_before: dict[str, int] = field(default_factory=dict)
    status_before: str = "active"
    steps: list[Step] = field(default_factory=list)
    effects: EffectResult = field(default_factory=EffectResult)
    new: bool = False
    # (priority, suppressed purposes, journey name) of the customer's other open runs.
    suppressors: tuple = ()
    # The run's row already holds this state (a new run inserted where its first advance led).
    written: bool = False


def work_advance(work: Work, advance: Advance) -> None:
    """Take an Advance, apply its effects, and feed immediate verdicts back until none are left."""
    for _ in range(MAX_ROUNDS):
        work.state = advance.state
        work.steps.extend(advance.steps)
        verdicts = effects_apply(work, advance.effects)
        if not verdicts or work.state.ended:
            return
        advance = run_advance(
            work.graph, work.state, now=work.now, inputs=verdicts, customer=work.customer
        )
    log.warning("run %s: verdict rounds exhausted", work.run.pk)


# --- claiming -----------------------------------------------------------------------------------


def _speeds() -> dict[int, Speed]:
    rows = EngineSettings.objects.filter(clock_anchor_real__isnull=False).values_list(
        "workspace_id", "clock_speed", "clock_anchor_real", "clock_anchor_journey"
    )
    return {ws: Speed(f, ar, aj) for ws, f, ar, aj in rows}


def _due_q(speeds: dict[int, Speed], real: datetime) -> Q:
    """Runs due by their own workspace's journey time. The latest of those times bounds them
    all, so the database can answer with a range of the due index: for the OR alone SQLite
    walked the workspace's every run (40 ms per claim at 100,000 waiting runs, when nothing
    was due); with the bound it reads only the runs due by then."""
    q = Q(due_at__lte=real) & ~Q(workspace_id__in=list(speeds))
    for workspace_id, speed in speeds.items():
        q |= Q(workspace_id=workspace_id, due_at__lte=speed.at(real))
    latest = max([real, *(speed.at(real) for speed in speeds.values())])
    return Q(due_at__lte=latest) & q


class ClaimedRun:
    """The columns of a claimed run that a batch reads and writes back: a plain object instead
    of a Run instance (no model instance, no conversion of the columns a batch never reads).
    The state arrives as JSON text and is parsed once, by the engine's RunState."""

    __slots__ = ("pk", "workspace_id", "journey_id", "version_id", "customer_id", "state",
                 "ended_at", "active_key", "workspace", "version", "customer", *_WRITTEN)  # fmt: skip

    def __init__(self, pk, workspace_id, journey_id, version_id, customer_id, state, ended_at,
                 active_key) -> None:  # fmt: skip
        self.pk, self.workspace_id, self.journey_id = pk, workspace_id, journey_id
        self.version_id, self.customer_id, self.state = version_id, customer_id, state
        self.ended_at, self.active_key = ended_at, active_key


CLAIMED_COLUMNS = ("id", "workspace_id", "journey_id", "version_id", "customer_id", "state_text",
                   "ended_at", "active_key")  # fmt: skip


def _claim(limit: int, only_ids: list[int] | None, open_only: bool = False) -> list[ClaimedRun]:
    """Claim due runs (their customers are read later, and only for the runs that need them);
    given ids, the due ones among them, or with ``open_only`` every open one."""
    real = real_now()
    speeds = _speeds()
    base = Run.objects.filter(journey__status="live")
    if open_only:
        base = base.filter(id__in=only_ids, status__in=OPEN_RUN_STATUSES)
    elif only_ids is not None:
        base = base.filter(id__in=only_ids, due_at__isnull=False)
    else:
        base = base.filter(_due_q(speeds, real), due_at__isnull=False)
    # Given ids are looked up by primary key in id order: ordered by due_at, PostgreSQL with a
    # stale row estimate walked the whole due_at index to find them (130 ms at 100,000 runs).
    rows = base.order_by("id" if only_ids is not None else "due_at")
    if connection.vendor == "postgresql":
        rows = rows.select_for_update(skip_locked=True, of=("self",), no_key=True)
    rows = rows.annotate(state_text=Cast("state", TextField())).values_list(*CLAIMED_COLUMNS)
    runs = [ClaimedRun(*row) for row in rows[:limit]]
    if not runs:
        return []
    # A batch's runs share a few workspaces and versions: each is read once, not once per run
    # (the version's graph is parsed once per process by graph_of, so it is not read at all).
    workspaces = Workspace.objects.in_bulk({run.workspace_id for run in runs})
    versions = VersionRow.objects.defer("graph").in_bulk({run.version_id for run in runs})
    for run in runs:
        run.workspace = workspaces[run.workspace_id]
        run.version = versions[run.version_id]
    return runs


def runs_claim_open(ids: list[int]) -> list[ClaimedRun]:
    """The open runs of live journeys among ``ids`` (on SQLite outside a transaction: read, to
    be checked again by ``batch_write``)."""
    return _claim(len(ids), ids, open_only=True) if ids else []


def _customers_attach(runs: list[ClaimedRun]) -> None:
    """Read the customers of ``runs`` in one query (sharing the runs' workspace objects)."""
    customers = Customer.objects.in_bulk({run.customer_id for run in runs})
    for run in runs:
        customer = customers[run.customer_id]
        if customer.workspace_id == run.workspace_id:
            customer.workspace = run.workspace
        run.customer = customer


# Effects that act on the customer: a run whose advance asks for one is advanced again with the
# customer read (sends need consent, preferences and the template's variables).
_CUSTOMER_EFFECTS = (SendRequest, CallRequest, UpdateAttribute)


def runs_advance_due(
    *, limit: int = BATCH_SIZE, only_ids: list[int] | None = None, given: Given | None = None
) -> int:
    """Claim up to ``limit`` due runs of live journeys (or the given ones) and advance them in one
    transaction. Returns how many runs were advanced; safe to call from many workers at once.

    ``given``: inputs that move runs of ``only_ids`` now (run id -> its input rows), handed over
    instead of stored and read back. A claimed run takes them after its
    stored inputs (in time order; one already stored under the same source key is not taken
    twice). A run not claimed (another worker holds it, its journey is paused) gets them queued
    and is made due, as ``inputs_queue`` does for any input.

    Each run is first advanced with a ``CustomerUnread`` (the customer's id, time zone and
    language): a send's verdict or a timer that moves a run from one wait to the next reads
    nothing more about the customer. The runs whose steps read more of the customer, or that
    ask for a send, are advanced again from the same state, with their customers, consent and
    the other journeys' suppression read in bulk."""
    statistics_keep_up()
    if only_ids is None and prepares_outside_lock():
        return _advance_due_prepared(limit)
    with transaction.atomic():
        runs = _claim(limit, only_ids, open_only=given is not None)
        if given:
            claimed = {run.pk for run in runs}
            inputs_queue({pk: rows for pk, rows in given.items() if pk not in claimed})
        if not runs:
            return 0
        _crash_point("claimed")
        inputs = _inputs_for([run.pk for run in runs], given)
        works, _ = _works_for(runs, inputs)
        _crash_point("advanced")
        works_persist(works)
        RunInput.objects.filter(run_id__in=[run.pk for run in runs]).delete()
        _crash_point("persisted")
    return len(runs)


def _works_for(runs: list[ClaimedRun], inputs, write: bool = True) -> tuple[list[Work], list]:
    """Advance the claimed runs with their inputs (pure steps, effects applied); returns the
    works and the messages their sends decided (written already unless ``write`` is False)."""
    speeds = _speeds()
    real = real_now()
    partial = _customers_partial({run.customer_id for run in runs})
    works, needy = [], []
    for run in runs:
        try:
            work, advance = _advance_one(run, speeds, real, partial[run.customer_id], inputs)
        except CustomerNeeded:
            needy.append(run)
            continue
        if any(isinstance(effect, _CUSTOMER_EFFECTS) for effect in advance.effects):
            needy.append(run)
            continue
        work_advance(work, advance)
        works.append(work)
    messages = []
    if needy:
        more, messages = _advance_with_customers(needy, inputs, speeds, real, write)
        works += more
    return works, messages


SWEEP_LEASE = "runs:due"
LEASE_S = 60


def _advance_due_prepared(limit: int) -> int:
    """SQLite's due-run sweep: with the sweep's lease (``console.leases``), claim and advance a
    batch with reads only (``batch_prepare``), then write it in one short transaction
    (``batch_write``). If a run moved meanwhile (an event advanced it, its journey was paused),
    that transaction is rolled back and the batch is claimed and advanced inside the lock
    instead. A worker killed while preparing wrote nothing, so its runs stay due."""
    if not _due_exists():
        return 0
    if not lease_take(SWEEP_LEASE, now=real_now(), seconds=LEASE_S):
        return 0  # another worker is preparing the sweep's next batch
    with reads_only():
        runs = _claim(limit, None)
        _crash_point("claimed")
        prepared = batch_prepare(runs) if runs else None
        _crash_point("advanced")
    with transaction.atomic():
        if not lease_give_back(SWEEP_LEASE) or prepared is None:
            return 0
        if batch_write(prepared):
            _crash_point("persisted")
            return len(runs)
        transaction.set_rollback(True)
    with transaction.atomic():  # the batch claimed and advanced inside the lock
        lease_give_back(SWEEP_LEASE)
        return runs_advance_due(limit=limit)


@dataclass
class Prepared:
    """A batch advanced outside the write lock, not yet written: the claimed runs as read, the
    ids of the stored inputs they took, their works and the messages their sends decided."""

    runs: list[ClaimedRun]
    seen: dict[int, set[int]]
    works: list[Work]
    messages: list


def batch_prepare(runs: list[ClaimedRun], given: Given | None = None) -> Prepared:
    """Advance claimed runs with reads only (call inside ``reads_only``)."""
    seen: dict[int, set[int]] = defaultdict(set)
    inputs = _inputs_for([run.pk for run in runs], given, seen=seen)
    works, messages = _works_for(runs, inputs, write=False)
    return Prepared(runs, seen, works, messages)


def batch_write(prepared: Prepared) -> bool:
    """Inside the write transaction: write a prepared batch if every run still holds what it
    read; False (nothing written) when one moved meanwhile."""
    if not _unchanged(prepared.runs, prepared.seen):
        return False
    messages_write(prepared.messages)
    works_persist(prepared.works)
    RunInput.objects.filter(id__in=[i for ids in prepared.seen.values() for i in ids]).delete()
    return True


def _due_exists() -> bool:
    """Is any run due? Ordered by due_at like the claim, so that SQLite walks the due index
    (an unordered EXISTS walked the workspace's runs: 40 ms at 100,000 runs)."""
    due = Run.objects.filter(_due_q(_speeds(), real_now()), due_at__isnull=False)
    return bool(due.filter(journey__status="live").order_by("due_at").values_list("id")[:1])


def _unchanged(runs: list[ClaimedRun], seen: dict[int, set[int]]) -> bool:
    """Inside the write lock: does every run still hold the state, version and inputs the
    batch read, with its journey still live?"""
    ids = [run.pk for run in runs]
    stored = {
        pk: (version_id, state, status)
        for pk, version_id, state, status in Run.objects.filter(id__in=ids)
        .annotate(state_text=Cast("state", TextField()))
        .values_list("id", "version_id", "state_text", "journey__status")
    }
    for run in runs:
        if stored.get(run.pk) != (run.version_id, run.state, "live"):
            return False
    queued: dict[int, set[int]] = defaultdict(set)
    for pk, run_id in RunInput.objects.filter(run_id__in=ids).values_list("id", "run_id"):
        queued[run_id].add(pk)
    return all(queued.get(pk, set()) == seen.get(pk, set()) for pk in ids)


def _advance_one(run: ClaimedRun, speeds, real: datetime, customer, inputs) -> tuple[Work, Advance]:
    """The run's work and its first advance at its workspace's journey time (pure: nothing is
    applied until ``work_advance``)."""
    work = work_load(run, speeds.get(run.workspace_id, Speed()).at(real), customer)
    advance = run_advance(
        work.graph, work.state, now=work.now, inputs=inputs.get(run.pk, []), customer=customer
    )
    return work, advance


def _customers_partial(customer_ids: set[int]) -> dict[int, CustomerUnread]:
    rows = Customer.objects.filter(id__in=customer_ids).values_list("id", "timezone", "language")
    return {pk: CustomerUnread(str(pk), tz or DEFAULT_TZ, language) for pk, tz, language in rows}


def _advance_with_customers(
    runs: list[ClaimedRun], inputs, speeds, real: datetime, write: bool = True
) -> tuple[list[Work], list]:
    _customers_attach(runs)
    suppressors = suppressors_for([run.customer_id for run in runs])
    works = []
    with (
        batch_inputs(run.customer for run in runs),  # consent ledgers read once, below
        messages_batch(run_ids=[r.pk for r in runs], write=write) as decided,
    ):
        views = customer_views({r.customer_id: r.customer for r in runs}.values(), real)
        for run in runs:
            work, advance = _advance_one(run, speeds, real, views[run.customer_id], inputs)
            work.suppressors = _others(suppressors.get(run.customer_id, ()), run.journey_id)
            work_advance(work, advance)
            works.append(work)
    return works, decided


def work_load(run: ClaimedRun, now: datetime, customer: CustomerView) -> Work:
    state = RunState.model_validate_json(run.state)
    return Work(
        run=run,
        graph=_graphs.get(run.version_id) or graph_of(run.version_id, run.version.graph),
        state=state,
        now=now,
        customer=customer,
        attempts_before=dict(state.attempts),
        status_before=state.status,
    )


def suppressors_for(customer_ids: list[int]) -> dict[int, list[tuple]]:
    """Customer -> (journey id, priority, suppressed purposes, journey name) of open runs whose
    version suppresses something (for ``send_suppressed``): two queries per batch."""
    from journeys.models import JourneyVersion as VersionRow

    rows = list(
        Run.objects.filter(
            customer_id__in=set(customer_ids), status__in=("active", "waiting")
        ).values_list("customer_id", "journey_id", "version_id", "journey__name")
    )
    missing = {version_id for _, _, version_id, _ in rows if version_id not in _graphs}
    for version_id, graph in VersionRow.objects.filter(id__in=missing).values_list("id", "graph"):
        graph_of(version_id, graph)
    found: dict[int, list[tuple]] = defaultdict(list)
    for customer_id, journey_id, version_id, name in rows:
        graph = _graphs.get(version_id)
        if graph is not None and graph.suppresses:
            found[customer_id].append((journey_id, graph.priority, tuple(graph.suppresses), name))
    return found


def _others(entries: Iterable[tuple], journey_id: int) -> tuple:
    return tuple((p, purposes, name) for j, p, purposes, name in entries if j != journey_id)


class InputRow(NamedTuple):
    """A RunInput row to insert (the fields, in order; no model instance per input)."""

    run: int
    kind: str
    source_key: str
    at: datetime
    payload: dict

    @property
    def run_id(self) -> int:
        return self.run


# Inputs handed to ``runs_advance_due``: run id -> its input rows.
Given = dict[int, list[InputRow]]


def _inputs_for(
    run_ids: list[int], given: Given | None = None, seen: dict[int, set[int]] | None = None
) -> dict[int, list[Input]]:
    """The runs' inputs in time order: the stored ones (``seen`` collects their row ids per
    run), then the ``given`` ones not stored already."""
    grouped: dict[int, list[Input]] = defaultdict(list)
    stored: set[tuple[int, str]] = set()
    rows = RunInput.objects.filter(run_id__in=run_ids).order_by("at", "id")
    fields = ("run_id", "kind", "at", "payload", "source_key", "id")
    for run_id, kind, at, payload, source_key, pk in rows.values_list(*fields):
        if seen is not None:
            seen[run_id].add(pk)
        stored.add((run_id, source_key))
        decoded = input_decode(kind, at, payload)
        if decoded is not None:
            grouped[run_id].append(decoded)
    for run_id in run_ids if given else ():
        extra = [
            decoded
            for row in given.get(run_id, ())
            if (run_id, row.source_key) not in stored
            and (decoded := input_decode(row.kind, row.at, row.payload)) is not None
        ]
        if extra:  # a stable sort: the stored ones first at equal times
            grouped[run_id] = sorted(grouped[run_id] + extra, key=lambda i: i.at)
    return grouped


def inputs_queue(given: Given) -> None:
    """Store inputs for their runs' next advance and make the open runs due at the earliest of
    them (one UPDATE: a run made due a little early only wakes sooner to the same inputs)."""
    if not given:
        return
    rows = [row for items in given.values() for row in items]
    values_insert(RunInput, list(InputRow._fields), rows, ignore_conflicts=True)
    earliest = min(row.at for row in rows)
    runs = Run.objects.filter(id__in=sorted(given), status__in=OPEN_RUN_STATUSES)
    if connection.vendor == "postgresql":
        # Row locks in id order first: an UPDATE locks rows in the order it finds them, and two
        # workers queueing inputs for overlapping runs in different orders deadlocked.
        list(runs.order_by("id").select_for_update(no_key=True).values_list("id", flat=True))
    runs.update(due_at=earliest)


# --- writing a batch ----------------------------------------------------------------------------


def run_sync(work: Work, steps: list[Step] | None = None) -> None:
    """Set the run's columns from its work (state, node, timers, reason, end); ``steps``: the
    steps that led there, when they are not yet the work's own."""
    run, state = work.run, work.state
    steps = work.steps if steps is None else steps
    run.state = state.model_dump(mode="json")
    run.status, run.node_id = state.status, state.node_id or ""
    wait = state.wait if not state.ended else None
    run.wake_at = wait.wake_at if wait else None
    run.due_at = (
        run.wake_at if state.status == "waiting" else (work.now if not state.ended else None)
    )
    run.waiting_event = (wait.event or "") if wait else ""
    run.waiting_correlation = (wait.correlation or "") if wait else ""
    run.message_key = (wait.message_key or "") if wait else ""
    last = steps[-1].reason if steps else ""
    run.reason = ((wait.reason if wait else "") or last or state.end_reason)[:300]
    run.holdout, run.goal_reached_at = state.holdout, state.goal_reached_at
    if state.ended:
        run.ended_at, run.active_key = state.ended_at, None


def works_persist(works: list[Work]) -> None:
    """Write runs, steps, counters and deferred effects of a batch (inside its transaction)."""
    for work in works:
        if not work.written:
            run_sync(work)
    rows_update(Run, [w.run for w in works if not w.written], RUN_FIELDS)
    steps = [_step_row(work.run.pk, step) for work in works for step in work.steps]
    values_insert(StepRow, STEP_FIELDS, steps, ignore_conflicts=True)
    for work in works:
        work.effects.after_persist(work)
    # Last: every batch of a journey increments the same counter rows, so on PostgreSQL their
    # row locks make the next batch wait until this one commits; taken here, they are held
    # only for the batch's last statements rather than for its rendering and policy decisions.
    counters_apply(_counter_deltas(works))
    _publish(works)


STEP_FIELDS = ["run", "node_id", "kind", "attempt", "entered_at", "left_at", "port", "reason",
               "notes", "detail"]  # fmt: skip


def _step_row(run_id: int, step: Step) -> list:
    return [run_id, step.node_id, step.kind, step.attempt, step.entered_at, step.left_at,
            step.port or "", step.reason[:300], list(step.notes), dict(step.detail)]  # fmt: skip


def _counter_deltas(works: list[Work]) -> dict[tuple, int]:
    deltas: dict[tuple, int] = defaultdict(int)
    for work in works:
        base = (work.run.journey_id, work.run.version.number)
        for node_id, count in work.state.attempts.items():
            entered = count - work.attempts_before.get(node_id, 0)
            if entered > 0:
                deltas[(*base, node_id, "entered")] += entered
        for step in work.steps:
            deltas[(*base, step.node_id, "left")] += 1
            deltas[(*base, step.node_id, f"port:{step.port or 'end'}")] += 1
        prefix = "holdout:" if work.state.holdout else ""
        if work.new:
            deltas[(*base, "", f"{prefix}enrolled")] += 1
        if work.state.ended and work.status_before not in ("completed", "exited", "failed"):
            deltas[(*base, "", f"{prefix}ended:{work.state.status}")] += 1
    return deltas


def counters_apply(deltas: dict[tuple, int]) -> None:
    """Add ``deltas`` ((journey, version, node, metric) -> n): one insert of the missing keys,
    one executemany of the increments."""
    # In key order: two batches locking the same counters in different orders could deadlock.
    deltas = {key: n for key, n in sorted(deltas.items()) if n}
    if not deltas:
        return
    fields = ["journey", "version_number", "node_id", "metric"]
    values_insert(NodeCounter, [*fields, "count"], [[*key, 0] for key in deltas],
                  ignore_conflicts=True)  # fmt: skip
    quote = connection.ops.quote_name
    where = " AND ".join(f"{quote(NodeCounter._meta.get_field(f).column)} = %s" for f in fields)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(NodeCounter._meta.db_table)} SET {quote('count')} = "
            f"{quote('count')} + %s WHERE {where}",
            [[n, *key] for key, n in deltas.items()],
        )


def _publish(works: list[Work]) -> None:
    for journey_id in {w.run.journey_id for w in works}:
        live_publish(f"journey:{journey_id}", kind="runs")
    notices = {  # the coalescer keeps one notice per topic anyway: the last one
        f"customer:{work.run.customer_id}": (work.run.journey_id, work.state.node_id or "")
        for work in works
        if work.steps
    }
    for topic, (journey_id, node_id) in notices.items():
        live_publish(topic, kind="journey", journey=journey_id, node=node_id)


def new_token() -> str:
    return uuid.uuid4().hex[:12]
