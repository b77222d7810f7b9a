"""Starting runs (events, segments, dates) and routing events to the runs that wait for them.

``events_process`` is what the events listener's task runs for a batch of committed event ids:
trigger matching enrols new runs, then every event becomes an input of the runs it concerns
(channel outcomes by ``run_id``; business events for the customer's open runs whose version
mentions the event: a wait, the goal, an exit rule, a ``seen.`` condition). The runs an input
moves now are advanced at once, in the same transaction, with the input handed over; the other
inputs are queued as RunInput rows for the run's own wake-up. Replays are harmless: a run is
enrolled once per ``enrol_key``, an input is queued once per (run, event), and an input its run
no longer waits for (a send's verdict, once the run left the send) changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import F

from channels_app.outbox.services import messages_batch, messages_write
from channels_app.policies.inputs import batch_inputs
from console.db import (
    WriteOutsideLock,
    ids_reserve,
    prepared_write,
    reads_only,
    rows_insert,
    sqlite_next_id,
    values_insert,
)
from console.dbstats import statistics_keep_up
from console.models import Customer, Event, Workspace
from journeys.clock import Speed, clock_speed, real_now
from journeys.engine import (
    Advance,
    EventInput,
    JourneyVersion,
    PriorRun,
    entry_decide,
    run_start,
    trigger_matches,
)
from journeys.models import OPEN_RUN_STATUSES, Journey, Run, RunInput
from journeys.models import JourneyVersion as VersionRow
from journeys.services.inputs import channel_input
from journeys.services.stepping import (
    BATCH_SIZE,
    Given,
    InputRow,
    Work,
    batch_prepare,
    batch_write,
    customer_views,
    graph_of,
    inputs_queue,
    run_sync,
    runs_advance_due,
    runs_claim_open,
    suppressors_for,
    work_advance,
    works_persist,
)

log = logging.getLogger("sangam.journeys")

CHANNEL_FAMILIES = ("message", "call")


@dataclass
class Enrolment:
    customer: Customer
    enrol_key: str
    event: EventInput | None = None
    context: dict | None = None


@dataclass
class EnrolResult:
    runs: list[Run]
    refused: list[tuple[Enrolment, str]]


def _correlation(graph: JourneyVersion, item: Enrolment) -> str | None:
    key = graph.entry.correlation_key
    values = dict(item.event.properties) if item.event else {}
    values.update(item.context or {})
    return str(values[key]) if key and values.get(key) is not None else None


def _priors(journey: Journey, customer_ids: set[int]) -> dict[int, list[PriorRun]]:
    found: dict[int, list[PriorRun]] = defaultdict(list)
    rows = Run.objects.filter(journey=journey, customer_id__in=customer_ids).values_list(
        "customer_id", "status", "correlation_value", "entered_at"
    )
    for customer_id, status, correlation, entered in rows:
        found[customer_id].append(PriorRun(status, correlation or None, entered))
    return found


def runs_enrol(
    *, version: VersionRow, items: list[Enrolment], now: datetime, views=None
) -> EnrolResult:
    """Create and start runs of ``version`` for ``items``, applying the entry rules; each
    started run is advanced as far as it goes at once. One transaction (a savepoint inside the
    caller's): the runs' keys are reserved under its write lock."""
    with transaction.atomic():
        return _runs_enrol(version, items, now, views)


def _runs_enrol(version: VersionRow, items: list[Enrolment], now: datetime, views) -> EnrolResult:
    rows, accepted, refused = _accept(version, items, now)
    works = _start(version, rows, accepted, now, views)
    works_persist(works)
    return EnrolResult([work.run for work in works], refused)


def _accept(version: VersionRow, items: list[Enrolment], now: datetime):
    """The items the entry rules let in, as unsaved run rows (with the items), and the refused
    ones with their reasons. Reads only."""
    journey, graph = version.journey, graph_of(version.pk, version.graph)
    done = set(
        Run.objects.filter(journey=journey, enrol_key__in=[i.enrol_key for i in items]).values_list(
            "enrol_key", flat=True
        )
    )
    priors = _priors(journey, {item.customer.pk for item in items})
    rows, accepted, refused = [], [], []
    for item in items:
        if item.enrol_key in done:
            continue
        done.add(item.enrol_key)
        correlation = _correlation(graph, item)
        decision = entry_decide(
            graph, now=now, correlation=correlation, prior=priors[item.customer.pk]
        )
        if not decision.allowed:
            refused.append((item, decision.reason))
            continue
        priors[item.customer.pk].append(PriorRun("active", correlation, now))
        rows.append(_run_row(journey, version, graph, item, correlation, now))
        accepted.append(item)
    return rows, accepted, refused


@dataclass
class EnrolPlan:
    """Enrolment prepared outside the write lock (SQLite): the new runs with the keys they
    would get, their first advances and the messages those decided, not yet written."""

    rows: list[Run]
    works: list[Work]
    messages: list
    refused: list[tuple[Enrolment, str]]
    first_id: int


def runs_enrol_plan(
    *, version: VersionRow, items: list[Enrolment], now: datetime, views=None
) -> EnrolPlan:
    """What ``runs_enrol`` would do, computed with reads only and no transaction, so that on
    SQLite a second worker can hold the one write lock meanwhile. The runs' keys are guessed
    (the next free ones now); ``enrol_plan_write`` checks the guess under the lock."""
    with reads_only():
        rows, accepted, refused = _accept(version, items, now)
        first_id = sqlite_next_id(Run)
        for offset, row in enumerate(rows):
            row.pk = first_id + offset
        graph = graph_of(version.pk, version.graph)
        pairs = _firsts(version, graph, rows, accepted, now, views)
        messages = _first_effects(pairs, write=False)
    return EnrolPlan(rows, [work for work, _ in pairs], messages, refused, first_id)


def enrol_plan_write(plan: EnrolPlan) -> EnrolResult | None:
    """Write a plan inside the caller's write transaction; None, with nothing written that the
    caller must keep, when its guesses no longer hold (another writer took the keys or one of
    the enrol keys): the caller rolls back and enrols the usual way."""
    if plan.rows and sqlite_next_id(Run) != plan.first_id:
        return None
    try:
        with transaction.atomic():
            rows_insert(Run, plan.rows, keys=True)
    except IntegrityError:
        return None
    messages_write(plan.messages)
    works_persist(plan.works)
    return EnrolResult([work.run for work in plan.works], plan.refused)


def _run_row(journey, version, graph, item: Enrolment, correlation, now) -> Run:
    one_active = graph.entry.one_active_per_key
    return Run(
        workspace_id=journey.workspace_id, journey=journey, version=version,
        customer=item.customer, status="active", node_id="", state={},
        correlation_key=graph.entry.correlation_key or "", correlation_value=correlation or "",
        active_key=(correlation or "") if one_active else None, enrol_key=item.enrol_key,
        entered_at=now,
    )  # fmt: skip


def _runs_insert(rows: list[Run]) -> list[Run | None]:
    """Insert new runs (their keys reserved); when a racing worker took an enrol key or active
    key first, the rest still land (one savepoint each) and the taken ones come back as None."""
    if not rows:
        return []
    try:
        with transaction.atomic():
            rows_insert(Run, rows, keys=True)
        return list(rows)
    except IntegrityError:
        created: list[Run | None] = []
        for row in rows:
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
                created.append(row)
            except IntegrityError:
                created.append(None)
        return created


def _start(version, rows: list[Run], accepted, now, views) -> list[Work]:
    """Start new runs: each run's first advance is taken before its row is written, so the row
    is inserted in the state it reached (no second write) and the effects (sends) are applied
    only for the rows that landed. A run whose effects answer at once (a send blocked or
    deferred) moves on, and only that run's row is written again by ``works_persist``."""
    if not rows:
        return []
    graph = graph_of(version.pk, version.graph)
    ids_reserve(Run, rows)
    firsts = _firsts(version, graph, rows, accepted, now, views)
    created = _runs_insert(rows)
    pairs = [pair for pair, run in zip(firsts, created, strict=True) if run is not None]
    _first_effects(pairs)
    return [work for work, _ in pairs]


def _first_effects(pairs: list[tuple[Work, Advance]], write: bool = True) -> list:
    """Apply the first advances' effects (sends decided in one batch); returns the messages
    they decided (written already unless ``write`` is False)."""
    if not pairs:
        return []
    suppressors = suppressors_for([work.run.customer_id for work, _ in pairs])
    run_ids = [work.run.pk for work, _ in pairs]
    with (
        batch_inputs(work.run.customer for work, _ in pairs),
        messages_batch(run_ids=run_ids, write=write) as decided,
    ):
        for work, advance in pairs:
            run = work.run
            work.suppressors = tuple(
                (p, purposes, name)
                for j, p, purposes, name in suppressors.get(run.customer_id, ())
                if j != run.journey_id
            )
            work_advance(work, advance)
            work.written = work.state is advance.state
    return decided


def _firsts(version, graph, rows: list[Run], accepted, now, views) -> list[tuple[Work, Advance]]:
    """Each new run's work and first advance (pure); ``views``: the customers' engine views,
    read here when not given."""
    views = views or customer_views([item.customer for item in accepted], real_now())
    return [
        _first(version, graph, run, item, now, views)
        for run, item in zip(rows, accepted, strict=True)
    ]


def _first(version, graph, run: Run, item: Enrolment, now, views) -> tuple[Work, Advance]:
    """The run's work and first advance (pure), with the run's row set to where it leads."""
    view = views[item.customer.pk]
    advance = run_start(
        graph, run_id=str(run.pk), now=now, customer=view, event=item.event, context=item.context,
    )  # fmt: skip
    run.workspace = version.journey.workspace
    if item.customer.workspace_id == run.workspace.pk:  # saves a query per send's policy check
        item.customer.workspace = run.workspace
    work = Work(run=run, graph=graph, state=advance.state, now=now, customer=view, new=True)
    run_sync(work, advance.steps)
    return work, advance


# --- events ------------------------------------------------------------------------------------


def version_interest(graph: JourneyVersion) -> frozenset[str]:
    """Event names a run of this version needs to hear about wherever it is."""
    names = {rule.event for rule in graph.exit_conditions}
    if graph.goal is not None:
        names.add(graph.goal.event)
    for node in graph.nodes:
        if node.kind == "wait_for" and node.config.get("event"):
            names.add(str(node.config["event"]))
    text = json.dumps([n.config for n in graph.nodes] + [graph.model_dump(mode="json")["goal"]])
    for part in text.split('"seen.')[1:]:
        names.add(part.split('"', 1)[0])
    return frozenset(names)


def live_versions(workspace: Workspace) -> list[VersionRow]:
    """The versions new entries go to, one per live journey of ``workspace``."""
    return list(
        VersionRow.objects.filter(
            journey__workspace=workspace,
            journey__status="live",
            number=F("journey__current_version"),
        ).select_related("journey__workspace")
    )


class EventRow(NamedTuple):
    """The columns of an Event the engine reads (no model instance per event)."""

    pk: int
    workspace_id: int
    customer_id: int
    name: str
    properties: dict
    occurred_at: datetime


def events_process(*, event_ids: list[int]) -> int:
    """Enrol and resume for a batch of committed events. Returns the number of runs advanced.

    Per workspace, in one transaction: the inputs that move their runs now are handed to
    ``runs_advance_due`` (not stored and read back); the others are queued for the runs' own
    wake-ups. If advancing raises, the handed inputs are queued instead (the runs made due, so
    the due-run sweep tries again) and the rest of the batch goes on."""
    statistics_keep_up()
    rows = Event.objects.filter(id__in=event_ids).order_by("id")
    by_workspace: dict[int, list[EventRow]] = defaultdict(list)
    for row in rows.values_list(*EventRow._fields):
        event = EventRow(*row)
        by_workspace[event.workspace_id].append(event)
    workspaces = Workspace.objects.in_bulk(list(by_workspace))
    advanced = 0
    for workspace_id, batch in by_workspace.items():
        done = _events_prepared(workspaces[workspace_id], batch)
        if done is not None:
            advanced += done
            continue
        with transaction.atomic():
            moving = _events_for_workspace(workspaces[workspace_id], batch)
            ids = sorted(moving)
            for start in range(0, len(ids), BATCH_SIZE):
                given = {pk: moving[pk] for pk in ids[start : start + BATCH_SIZE]}
                try:
                    advanced += runs_advance_due(only_ids=list(given), given=given)
                except Exception:  # the runs keep their inputs; the sweep advances them later
                    log.exception("advancing runs %s on their events failed", list(given)[:20])
                    inputs_queue(given)
    return advanced


def _events_for_workspace(workspace: Workspace, events: list[EventRow]) -> Given:
    """Enrol the events' customers, queue the inputs no run moves on now, and return the ones
    that move their runs now."""
    now, inputs = _event_inputs(workspace, events)
    _enrol_events(workspace, events, inputs, now)
    moving, queued, _ = _inputs_sorted(workspace, events, inputs)
    values_insert(RunInput, list(InputRow._fields), queued, ignore_conflicts=True)
    return moving


def _inputs_sorted(workspace, events: list[EventRow], inputs):
    """The events' inputs: those that move their runs now (by run), those queued for the
    runs' own wake-ups, and the (status, waited key) of the runs that own channel outcomes."""
    rows, waits = _inputs_for_events(workspace, events, inputs)
    moving: Given = defaultdict(list)
    queued = []
    for row in rows:
        if _wakes(row, waits):
            moving[row.run_id].append(row)
        else:
            queued.append(row)
    return moving, queued, waits


def _events_prepared(workspace: Workspace, events: list[EventRow]) -> int | None:
    """SQLite: route a batch of events and advance the runs they move with reads only, then
    write it all in one short transaction, so that another worker may hold the write lock
    meanwhile (``prepared_write``). None (nothing written) where the usual path must run inside
    the lock: a live journey starts from events (enrolment), more runs move than one batch
    holds, preparing needed a write or failed, or a run moved meanwhile."""

    def prepare():
        try:
            if _event_trigger_versions(workspace):
                return None
            _, inputs = _event_inputs(workspace, events)
            moving, queued, waits = _inputs_sorted(workspace, events, inputs)
            if len(moving) > BATCH_SIZE:
                return None
            runs = runs_claim_open(sorted(moving))
            return moving, queued, waits, runs, batch_prepare(runs, moving) if runs else None
        except WriteOutsideLock:
            raise
        except Exception:  # the usual path meets it again and keeps the inputs queued
            log.exception("preparing runs for events %s failed", [e.pk for e in events][:20])
            return None

    def write(prepared):
        moving, queued, waits, runs, batch = prepared
        if _waits(waits) != waits or (batch and not batch_write(batch)):
            return None
        claimed = {run.pk for run in runs}
        values_insert(RunInput, list(InputRow._fields), queued, ignore_conflicts=True)
        inputs_queue({pk: rows for pk, rows in moving.items() if pk not in claimed})
        return len(runs)

    return prepared_write(prepare, write)


def _waits(run_ids, workspace: Workspace | None = None) -> dict[int, tuple[str, str]]:
    """Run id -> (status, waited message key) of these runs as stored now."""
    rows = Run.objects.filter(id__in=list(run_ids))
    if workspace is not None:
        rows = rows.filter(workspace=workspace)
    return {
        pk: (status, key) for pk, status, key in rows.values_list("id", "status", "message_key")
    }


def _wakes(row: InputRow, waits: dict[int, tuple[str, str]]) -> bool:
    """Does this input move its run now? Customer events do (goals, exits, waits for events);
    a message, call or send outcome only when the run is active or waits for that very send.
    Any other outcome stays queued for the run's own wake-up, where the stepper takes every
    input in time order with the timers between them, so the result is the same."""
    if row.kind == "event" or row.run_id not in waits:
        return True
    status, message_key = waits[row.run_id]
    return status == "active" or message_key == str(row.payload.get("key") or "")


def _event_inputs(workspace: Workspace, events: list[EventRow]) -> tuple[datetime, dict]:
    """The workspace's journey time now, and each event (by id) as an engine input."""
    speed = clock_speed(workspace)
    now = speed.at(real_now())
    return now, {e.pk: _event_input(e, speed, now) for e in events}


def _event_input(event: EventRow, speed: Speed, now: datetime) -> EventInput:
    return EventInput(event.name, min(speed.at(event.occurred_at), now), event.properties or {})


EVENT_TRIGGERS = ("trigger.event", "trigger.inbound", "trigger.date")


def _event_trigger_versions(workspace) -> list[tuple[VersionRow, JourneyVersion]]:
    """The live versions (with their graphs) whose trigger is an event."""
    graphs = [
        (version, graph_of(version.pk, version.graph)) for version in live_versions(workspace)
    ]
    return [(v, g) for v, g in graphs if (node := g.entry_node()) and node.kind in EVENT_TRIGGERS]


def _enrol_events(workspace, events: list[EventRow], inputs, now) -> None:
    """Enrol the events' customers in the live versions their trigger matches (customers and
    their consent are read only when some live version starts from an event)."""
    graphs = _event_trigger_versions(workspace)
    if not graphs:
        return
    customers = Customer.objects.in_bulk({event.customer_id for event in events})
    views = customer_views(customers.values(), real_now())
    for version, graph in graphs:
        items = [
            Enrolment(customers[event.customer_id], f"event:{event.pk}", inputs[event.pk])
            for event in events
            if trigger_matches(graph, inputs[event.pk], views[event.customer_id])
        ]
        if items:
            runs_enrol(version=version, items=items, now=now, views=views)


def _inputs_for_events(
    workspace, events: list[EventRow], inputs
) -> tuple[list[InputRow], dict[int, tuple[str, str]]]:
    """The inputs the events make, and (status, waited message key) of the runs that own
    channel outcomes among them."""
    customer_ids = {event.customer_id for event in events}
    open_runs = list(
        Run.objects.filter(
            # The customers are this workspace's: filtering on the workspace too made SQLite
            # walk all the workspace's runs instead of the (customer, status) index.
            customer_id__in=customer_ids,
            status__in=OPEN_RUN_STATUSES,
        ).values_list("id", "customer_id", "version_id", "enrol_key")
    )
    _graphs_load({version_id for _, _, version_id, _ in open_runs})
    by_customer: dict[int, list[tuple[int, frozenset[str], int]]] = defaultdict(list)
    interests: dict[int, frozenset[str]] = {}  # per version, not per run
    for run_id, customer_id, version_id, enrol_key in open_runs:
        interest = interests.get(version_id)
        if interest is None:
            interest = interests[version_id] = version_interest(graph_of(version_id, {}))
        since = int(enrol_key[6:]) if enrol_key.startswith("event:") else 0
        by_customer[customer_id].append((run_id, interest, since))
    owned = _owned_runs(workspace, events)
    rows: list[InputRow] = []
    for event in events:
        inp = inputs[event.pk]
        source = f"event:{event.pk}"
        mapped = channel_input(event.name, inp.at, event.properties or {})
        run_id = _run_id_of(event)
        if mapped is not None and run_id in owned:
            kind, payload = mapped
            rows.append(InputRow(run_id, kind, source, inp.at, payload))
            continue
        payload = {"name": event.name, "properties": event.properties or {}}
        for run_id, interest, since in by_customer.get(event.customer_id, ()):
            if event.name in interest and event.pk > since:
                rows.append(InputRow(run_id, "event", source, inp.at, payload))
    return rows, owned


def _run_id_of(event: EventRow) -> int | None:
    raw = (event.properties or {}).get("run_id")
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _owned_runs(workspace: Workspace, events: list[EventRow]) -> dict[int, tuple[str, str]]:
    """Run id -> (status, waited message key) of the runs named by channel outcome events."""
    ids = {_run_id_of(e) for e in events if e.name.split(".")[0] in CHANNEL_FAMILIES}
    ids.discard(None)
    return _waits(ids, workspace)


def _graphs_load(version_ids: set[int]) -> None:
    from journeys.services.stepping import _graphs

    missing = [v for v in version_ids if v not in _graphs]
    for version_id, graph in VersionRow.objects.filter(id__in=missing).values_list("id", "graph"):
        graph_of(version_id, graph)
