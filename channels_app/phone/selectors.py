"""What the customer's phone shows: SMS inbox, WhatsApp chat, calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from channels_app.models.calls import Call
from channels_app.models.outbox import Message
from channels_app.outbox.spec import SendSpec
from console.models import Customer, Event

SHOWN = ("sending", "unknown", "sent", "delivered", "read", "replied", "failed", "undelivered")


@dataclass
class Bubble:
    at: datetime
    inbound: bool
    text: str
    sender: str = ""
    status: str = ""
    message_id: int | None = None
    buttons: list[tuple[str, str]] = field(default_factory=list)
    header: str = ""
    footer: str = ""


def _outbound(customer: Customer, channel: str) -> list[Bubble]:
    rows = Message.objects.filter(customer=customer, channel=channel, status__in=SHOWN)
    bubbles = []
    for row in rows.order_by("-created_at")[:50]:
        spec = SendSpec.parse(row.spec)
        bubbles.append(
            Bubble(
                at=row.sent_at or row.created_at,
                inbound=False,
                text=row.rendered_text,
                sender=spec.sender or "VM-SANGAM",
                status=row.status,
                message_id=row.pk,
                buttons=spec.quick_replies() if row.status != "replied" else [],
                header=spec.wa_header,
                footer=spec.footer,
            )
        )
    return bubbles


def _inbound(customer: Customer, channel: str) -> list[Bubble]:
    rows = Event.objects.filter(
        customer=customer, name="inbound.message", properties__channel=channel
    ).order_by("-occurred_at")[:50]
    return [Bubble(at=e.occurred_at, inbound=True, text=e.properties.get("text", "")) for e in rows]


def phone_thread(customer: Customer, channel: str) -> list[Bubble]:
    return sorted(_outbound(customer, channel) + _inbound(customer, channel), key=lambda b: b.at)


def phone_calls(customer: Customer) -> list[Call]:
    return list(Call.objects.filter(customer=customer).order_by("-started_at", "-id")[:10])


def phone_live_call(calls: list[Call]) -> Call | None:
    """The call ringing or in progress (outbound ringing waits for the operator to answer)."""
    for call in calls:
        if call.status in ("ringing", "answered") or (
            call.status == "queued" and call.direction == "outbound" and call.provider_call_id
        ):
            return call
    return None


@dataclass
class RecentCustomer:
    customer: Customer
    last: Message
    ringing: bool = False


def phone_recent_customers(*, workspace, limit: int = 8) -> list[RecentCustomer]:
    """Customers the business reached most recently (a live call first), for picking one."""
    ringing = set(
        Call.objects.filter(workspace=workspace, status__in=("ringing", "answered")).values_list(
            "customer_id", flat=True
        )[:limit]
    )
    latest: dict[int, Message] = {}
    rows = Message.objects.filter(workspace=workspace).exclude(status__in=("blocked", "failed"))
    for message in rows.order_by("-created_at", "-id")[: limit * 20]:
        latest.setdefault(message.customer_id, message)
        if len(latest) >= limit:
            break
    customers = Customer.objects.in_bulk(list(latest))
    found = [
        RecentCustomer(customers[cid], message, cid in ringing)
        for cid, message in latest.items()
        if cid in customers
    ]
    return sorted(found, key=lambda r: not r.ringing)
