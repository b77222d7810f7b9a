"""Entering a journey (pure): does this event or customer enrol, may they enter again, holdout,
and the first advance of a new run."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .conditions import condition_eval
from .format import JourneyVersion
from .nodes.common import run_scope
from .nodes.triggers import inbound_matches
from .types import Advance, CustomerView, EventInput, RunState


def holdout_assign(run_id: str, percent: float) -> bool:
    """True when the run falls in the control group; stable for a run id, ~``percent``% of ids."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"holdout:{run_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 < percent * 100


def trigger_matches(version: JourneyVersion, event: EventInput, customer: CustomerView) -> bool:
    """Whether ``event`` enrols ``customer`` in this version (event, inbound and date triggers)."""
    node = version.entry_node()
    if node is None:
        return False
    try:
        config = version.config(node.id)
    except ValueError:
        return False
    if node.kind == "trigger.event":
        if event.name != config.event:
            return False
        scope = run_scope(RunState(run_id=""), customer, event.at, dict(event.properties))
        return condition_eval(config.filter, scope)
    if node.kind == "trigger.inbound":
        return inbound_matches(config, event)
    if node.kind == "trigger.date" and config.source == "event_property":
        return event.name == config.event and config.name in event.properties
    return False


def segment_matches(version: JourneyVersion, customer: CustomerView, *, now: datetime) -> bool:
    """Whether a segment trigger's filter selects ``customer`` (date triggers on attributes too:
    the service enrols customers whose date attribute is set and lets the trigger node wait)."""
    node = version.entry_node()
    if node is None:
        return False
    config = version.config(node.id)
    if node.kind == "trigger.segment":
        return condition_eval(config.filter, run_scope(RunState(run_id=""), customer, now))
    if node.kind == "trigger.date" and config.source == "attribute":
        return customer.attributes.get(config.name) not in (None, "")
    return False


@dataclass(frozen=True)
class PriorRun:
    """A run of this journey (any version) for the same customer, as the entry rules see it."""

    status: str
    correlation: str | None
    started_at: datetime


@dataclass(frozen=True)
class EntryDecision:
    allowed: bool
    reason: str = ""


def entry_decide(
    version: JourneyVersion,
    *,
    now: datetime,
    correlation: str | None,
    prior: Sequence[PriorRun],
) -> EntryDecision:
    """Apply the entry rules: one active run per customer and correlation key, then re-entry."""
    rules = version.entry
    active = [run for run in prior if run.status in ("active", "waiting")]
    if rules.one_active_per_key and any(run.correlation == correlation for run in active):
        label = f"{rules.correlation_key}={correlation}" if correlation else "this customer"
        return EntryDecision(False, f"already in this journey for {label}")
    if not prior or rules.reentry == "always":
        return EntryDecision(True)
    if rules.reentry == "never":
        return EntryDecision(False, "re-entry is off: the customer was in this journey before")
    last = max(run.started_at for run in prior)
    until = last + timedelta(hours=rules.cooldown_hours)
    if now < until:
        return EntryDecision(False, f"cool-down: may enter again from {until.isoformat()}")
    return EntryDecision(True)


def send_suppressed(
    purpose: str, *, priority: int, active: Iterable[tuple[int, Sequence[str]]]
) -> bool:
    """Whether a send of ``purpose`` from a journey of ``priority`` is held back by another active
    journey (``active``: (priority, suppresses) of the customer's other active runs' versions)."""
    return any(other > priority and purpose in suppresses for other, suppresses in active)


def run_start(
    version: JourneyVersion,
    *,
    run_id: str,
    now: datetime,
    customer: CustomerView | None = None,
    event: EventInput | None = None,
    context: dict[str, Any] | None = None,
) -> Advance:
    """Create a run at the version's trigger node and advance it as far as it goes.

    The context starts as the trigger event's properties (plus ``context``); the correlation value
    is the context's ``entry.correlation_key``. Raises ValueError when the version has no single
    trigger node (validation reports that before publishing).
    """
    from .stepper import run_advance

    node = version.entry_node()
    if node is None:
        raise ValueError("the journey needs exactly one trigger node to start a run")
    values = dict(event.properties) if event else {}
    values.update(context or {})
    key = version.entry.correlation_key
    correlation = str(values[key]) if key and values.get(key) is not None else None
    state = RunState(
        run_id=run_id,
        status="active",
        node_id=node.id,
        context=values,
        correlation=correlation,
        holdout=holdout_assign(run_id, version.holdout_percent),
        started_at=now,
    )
    return run_advance(version, state, now=now, customer=customer)
