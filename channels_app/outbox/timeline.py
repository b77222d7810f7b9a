"""Messages and calls as entries of the customer's timeline (kinds ``message``, ``call``)."""

from __future__ import annotations

from channels_app.models.calls import Call
from channels_app.models.outbox import Message
from console.timeline import TimelineCursor, TimelineEntry, timeline_cursor_q, timeline_key

CHANNEL_LABELS = {"sms": "SMS", "whatsapp": "WhatsApp", "voice": "Voice"}


def message_timeline_entries(
    customer, limit: int, before: TimelineCursor | None
) -> list[TimelineEntry]:
    qs = Message.objects.filter(customer=customer, kind="message")
    qs = qs.filter(timeline_cursor_q(before, "message", "created_at"))
    return [
        TimelineEntry(
            at=row.created_at,
            kind="message",
            channel=row.channel,
            summary=f"{CHANNEL_LABELS[row.channel]} {row.template_key or 'reply'} · {row.status}"
            + (f" · {row.rendered_text[:80]}" if row.rendered_text else ""),
            data={
                "id": row.pk,
                "status": row.status,
                "template_key": row.template_key,
                "text": row.rendered_text,
                "reason": row.decision_reason if row.status == "blocked" else row.error_reason,
                "message_key": row.idempotency_key,
                "provider": row.provider_kind,
            },
            key=timeline_key("message", row.pk),
        )
        for row in qs.order_by("-created_at", "-id")[:limit]
    ]


def call_timeline_entries(customer, limit: int, before: TimelineCursor | None) -> list:
    qs = Call.objects.filter(customer=customer).filter(
        timeline_cursor_q(before, "call", "started_at")
    )
    entries = []
    for row in qs.order_by("-started_at", "-id")[:limit]:
        keys = f" · keys {row.keys}" if row.keys else ""
        entries.append(
            TimelineEntry(
                at=row.started_at,
                kind="call",
                channel="voice",
                summary=f"{row.direction.title()} call · {row.get_status_display()}{keys}",
                data={
                    "id": row.pk,
                    "direction": row.direction,
                    "status": row.status,
                    "keys": row.keys,
                    "duration_s": row.duration_s,
                    "outcome": row.outcome,
                    "message_id": row.message_id,
                },
                key=timeline_key("call", row.pk),
            )
        )
    return entries
