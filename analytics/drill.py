"""Drill-down: the runs and customers behind a journey dashboard number, read from the run
facts (indexed by journey and entry time) with the dashboard's filters, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.exports import Table
from analytics.models import RunFact
from analytics.selectors import Filters
from console.models import Customer
from journeys.models import Journey

DRILL_METRICS = (
    "enrolled",
    "completed",
    "holdout",
    "escalated",
    "digital",
    "optout",
    "open",
    "ended_at",
)


def drill_runs(journey: Journey, filters: Filters, metric: str, node: str = ""):
    """Run facts behind a dashboard number (same cohort filters), newest first; None if unknown."""
    qs = RunFact.objects.filter(
        journey_id=journey.pk,
        workspace=journey.workspace,
        entered_at__gte=filters.start,
        entered_at__lt=filters.end,
    )
    if filters.version:
        qs = qs.filter(version=filters.version)
    treatment = qs.filter(holdout=False)
    chosen = {
        "enrolled": treatment,
        "completed": treatment.filter(completed=True),
        "holdout": qs.filter(holdout=True),
        "escalated": treatment.filter(escalated=True),
        "digital": treatment.filter(digital=True),
        "optout": treatment.filter(opted_out=True),
        "open": qs.filter(status__in=("active", "waiting")),
        "ended_at": qs.filter(
            last_node=node, completed=False, status__in=("exited", "failed", "cancelled")
        ),
    }.get(metric)
    return None if chosen is None else chosen.order_by("-entered_at", "-run_id")


@dataclass
class DrillPage:
    """One page of a drill-down without counting the whole set (the number the user clicked
    is the count; counting a million run facts per page view would not be)."""

    number: int
    object_list: list
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def drill_page(qs, raw_number: str | None, size: int) -> DrillPage:
    """Page ``raw_number`` (1 when missing or not a positive number) of ``qs``."""
    number = int(raw_number) if (raw_number or "").isdigit() and int(raw_number) > 0 else 1
    start = (number - 1) * size
    rows = list(qs[start : start + size + 1])
    return DrillPage(number, rows[:size], len(rows) > size)


def drill_rows(facts) -> list[dict]:
    facts = list(facts)
    customers = Customer.objects.in_bulk({f.customer_id for f in facts})
    return [{"fact": f, "customer": customers.get(f.customer_id)} for f in facts]


def drill_table(facts):
    table = Table(
        "customers",
        "Customers",
        [
            "customer id",
            "external id",
            "name",
            "phone",
            "run",
            "version",
            "entered",
            "status",
            "completed",
            "escalated",
            "last node",
        ],
    )
    for row in drill_rows(facts.iterator() if hasattr(facts, "iterator") else facts):
        f, c = row["fact"], row["customer"]
        table.rows.append(
            [
                f.customer_id,
                c.external_id if c else "",
                c.name if c else "",
                c.phone if c else "",
                f.run_id,
                f.version,
                f.entered_at.isoformat(),
                f.status,
                f.completed,
                f.escalated,
                f.last_node,
            ]
        )
    return table
