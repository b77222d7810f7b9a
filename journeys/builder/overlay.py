"""The live overlay of the builder: per-node counts of a published journey (from the counters the
engine keeps in the stepping transaction, never a scan of runs) and the customers waiting at one
node now, with their run's last reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from journeys import selectors as journey_selectors
from journeys.models import OPEN_RUN_STATUSES, Journey, Run, Step

WAITING_LIMIT = 50


def overlay_counts(*, journey: Journey) -> dict[str, Any]:
    """What the canvas shows on a published journey: node id -> entered, waiting now ("here")
    and the count of each port taken, summed over every version (node ids carry across
    versions); plus the journey's totals. ``live`` is false before the first publication."""
    published = journey.current_version is not None
    nodes = journey_selectors.node_counters(journey=journey) if published else {}
    totals = journey_selectors.journey_totals(journey=journey) if published else {}
    enrolled = totals.get("enrolled", 0) + totals.get("holdout:enrolled", 0)
    ended = sum(n for metric, n in totals.items() if ":ended:" in f":{metric}")
    return {
        "live": published,
        "status": journey.status,
        "version": journey.current_version,
        "nodes": {
            node_id: {"entered": c["entered"], "here": c["here"], "ports": dict(c["ports"])}
            for node_id, c in nodes.items()
        },
        "totals": {"enrolled": enrolled, "open": max(0, enrolled - ended)},
    }


@dataclass
class WaitingRow:
    run: Run
    reason: str  # the run's last step reason: how it got here
    waiting_for: str  # what the node holds it for (an event, a message outcome, a time)


def waiting_at_node(
    *, journey: Journey, node_id: str, limit: int = WAITING_LIMIT
) -> tuple[list[WaitingRow], int]:
    """Open runs at ``node_id`` now (oldest first, at most ``limit``) and how many there are.

    Each row carries the run's last step reason and what the node holds it for."""
    qs = Run.objects.filter(journey=journey, status__in=OPEN_RUN_STATUSES, node_id=node_id)
    total = qs.count()
    runs = list(qs.select_related("customer", "version").order_by("entered_at", "id")[:limit])
    last = _last_steps([run.pk for run in runs])
    rows = [
        WaitingRow(run, last.get(run.pk, "entered the journey here"), _waiting_for(run))
        for run in runs
    ]
    return rows, total


def _last_steps(run_ids: list[int]) -> dict[int, str]:
    """Run id -> "node: reason" of the run's latest step (one query for the page)."""
    found: dict[int, str] = {}
    steps = Step.objects.filter(run_id__in=run_ids).order_by("run_id", "-left_at", "-id")
    for run_id, node_id, reason in steps.values_list("run_id", "node_id", "reason"):
        found.setdefault(run_id, f"{node_id}: {reason}" if reason else node_id)
    return found


def _waiting_for(run: Run) -> str:
    wait = (run.state or {}).get("wait") or {}
    if wait.get("reason") or run.reason:
        return str(wait.get("reason") or run.reason)
    if run.waiting_event:
        return f"the event {run.waiting_event}"
    if run.status == "active":
        return "a worker to advance it"
    return ""
