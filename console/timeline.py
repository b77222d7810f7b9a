"""The unified customer timeline: a registry of entry sources merged newest first.

console registers events here; channels_app (messages, calls, consent) and journeys (steps)
register their own sources at start-up, so this module never imports them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from console.models import Customer, Event


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # event, message, call, consent, journey_step
    channel: str  # "", sms, whatsapp, voice
    summary: str
    data: dict = field(default_factory=dict)
    key: str = ""  # unique within the timeline, e.g. "event:42"; orders equal timestamps

    def sort_key(self) -> tuple[datetime, str]:
        return (self.at, self.key)


@dataclass(frozen=True)
class TimelineCursor:
    at: datetime
    key: str

    def encode(self) -> str:
        return f"{self.at.isoformat()}|{self.key}"

    @classmethod
    def decode(cls, raw: str) -> "TimelineCursor":
        at_text, _, key = raw.partition("|")
        at = parse_datetime(at_text.replace(" ", "+"))
        if at is None or at.tzinfo is None:
            raise ValueError("`before` must be the `next_before` value of a previous page.")
        return cls(at=at, key=key or "~")


def timeline_key(kind: str, ident: int) -> str:
    """The entry key; zero-padded so that string order equals numeric order."""
    return f"{kind}:{ident:012d}"


def timeline_cursor_q(before: "TimelineCursor | None", kind: str, time_field: str) -> Q:
    """Rows of `kind` strictly older than the cursor in (time, key) order; id is the row's pk."""
    if before is None:
        return Q()
    cursor_kind, _, ident = before.key.partition(":")
    if cursor_kind > kind:  # at the cursor's time our keys sort lower: equal times are older
        return Q(**{f"{time_field}__lte": before.at})
    if cursor_kind < kind or not ident.isdigit():
        return Q(**{f"{time_field}__lt": before.at})
    return Q(**{f"{time_field}__lt": before.at}) | Q(
        **{time_field: before.at, "pk__lt": int(ident)}
    )


# A source returns up to `limit` entries strictly older than the cursor (use timeline_cursor_q),
# newest first.
TimelineSource = Callable[[Customer, int, TimelineCursor | None], list[TimelineEntry]]


@dataclass(frozen=True)
class _Registered:
    kind: str
    channels: frozenset[str]
    fetch: TimelineSource


_SOURCES: dict[str, _Registered] = {}
KIND_LABELS: dict[str, str] = {}


def timeline_source_register(
    kind: str, fetch: TimelineSource, *, label: str, channels: tuple[str, ...] = ("",)
) -> None:
    """Register (or replace) the source for one entry kind."""
    _SOURCES[kind] = _Registered(kind, frozenset(channels), fetch)
    KIND_LABELS[kind] = label


def timeline_entries(
    customer: Customer,
    *,
    limit: int = 50,
    before: TimelineCursor | None = None,
    kinds: set[str] | None = None,
    channels: set[str] | None = None,
) -> tuple[list[TimelineEntry], str | None]:
    """One page of the customer's timeline, newest first, and the cursor for the next page."""
    merged: list[TimelineEntry] = []
    for source in _SOURCES.values():
        if kinds and source.kind not in kinds:
            continue
        if channels and not (source.channels & channels):
            continue
        # Ask for one more than needed so we know whether another page exists.
        for entry in source.fetch(customer, limit + 1, before):
            if before is not None and entry.sort_key() >= (before.at, before.key):
                continue
            if channels and entry.channel not in channels:
                continue
            merged.append(entry)
    merged.sort(key=TimelineEntry.sort_key, reverse=True)
    page = merged[:limit]
    has_more = len(merged) > limit
    next_before = TimelineCursor(page[-1].at, page[-1].key).encode() if has_more and page else None
    return page, next_before


def event_summary(name: str, properties: dict) -> str:
    shown = [f"{k}={v}" for k, v in list(properties.items())[:4] if not isinstance(v, (dict, list))]
    return name + (" · " + ", ".join(shown) if shown else "")


def _event_entries(
    customer: Customer, limit: int, before: TimelineCursor | None
) -> list[TimelineEntry]:
    qs = Event.objects.filter(customer=customer).filter(
        timeline_cursor_q(before, "event", "occurred_at")
    )
    rows = qs.order_by("-occurred_at", "-id").values(
        "id", "name", "properties", "occurred_at", "source", "idempotency_key"
    )[:limit]
    return [
        TimelineEntry(
            at=row["occurred_at"],
            kind="event",
            channel="",
            summary=event_summary(row["name"], row["properties"] or {}),
            data={
                "id": row["id"],
                "name": row["name"],
                "properties": row["properties"],
                "source": row["source"],
                "event_id": row["idempotency_key"],
            },
            key=timeline_key("event", row["id"]),
        )
        for row in rows
    ]


timeline_source_register("event", _event_entries, label="Events")
