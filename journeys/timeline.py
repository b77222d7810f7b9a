"""The ``journey_step`` source of the customer timeline: each step of the customer's runs."""

from __future__ import annotations

from console.models import Customer
from console.timeline import TimelineCursor, TimelineEntry, timeline_cursor_q, timeline_key
from journeys.models import Step

KIND = "journey_step"


def journey_step_entries(
    customer: Customer, limit: int, before: TimelineCursor | None
) -> list[TimelineEntry]:
    rows = (
        Step.objects.filter(run__customer=customer)
        .filter(timeline_cursor_q(before, KIND, "left_at"))
        .select_related("run__journey")
        .order_by("-left_at", "-id")[:limit]
    )
    return [
        TimelineEntry(
            at=step.left_at,
            kind=KIND,
            channel="",
            summary=f"{step.run.journey.name}: {step.node_id}"
            + (f" → {step.port}" if step.port else "")
            + (f" · {step.reason}" if step.reason else ""),
            data={
                "run_id": step.run_id,
                "journey_id": step.run.journey_id,
                "node_id": step.node_id,
                "kind": step.kind,
                "port": step.port,
                "reason": step.reason,
            },
            key=timeline_key(KIND, step.pk),
        )
        for step in rows
    ]
