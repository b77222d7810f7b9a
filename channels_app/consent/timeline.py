"""Consent changes as entries of the customer's unified timeline."""

from __future__ import annotations

from channels_app.consent.services import consent_entry_summary
from channels_app.models.consent import ConsentEntry
from console.models import Customer
from console.timeline import TimelineCursor, TimelineEntry


def consent_timeline_entries(
    customer: Customer, limit: int, before: TimelineCursor | None
) -> list[TimelineEntry]:
    qs = ConsentEntry.objects.filter(customer=customer)
    if before is not None:
        qs = qs.filter(at__lte=before.at)
    return [
        TimelineEntry(
            at=row.at,
            kind="consent",
            channel=row.channel,
            summary=consent_entry_summary(row),
            data={
                "id": row.id,
                "channel": row.channel,
                "purpose": row.purpose,
                "status": row.status,
                "source": row.source,
                "proof": row.proof,
                "reason": row.reason,
                "actor": row.actor_label,
            },
            key=f"consent:{row.id:012d}",
        )
        for row in qs.order_by("-at", "-id")[:limit]
    ]
