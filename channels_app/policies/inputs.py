"""Facts the send decision needs, read from the database at one moment ``at``.

Consent, preferences and DND come from the consent capability's selectors; the service window,
today's sends, echoes and engagement are read here from events and the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import Coalesce

from channels_app.consent.selectors import (
    SendPreferences,
    consent_entries_bulk,
    consent_state,
    consent_states_bulk,
    consent_states_from,
    preferences_bulk,
    preferences_for,
)
from channels_app.models.outbox import (
    CAP_COUNTED_STATUSES,
    PENDING_STATUSES,
    SENT_STATUSES,
    Message,
)
from channels_app.policy import CHANNELS, SentToday, local_day_bounds
from console.models import Customer, Event

# --- a batch sender's prefetch ------------------------------------------------------------------


@dataclass(frozen=True)
class SendRow:
    """What the cap and echo rules read of one counted message."""

    id: int | None
    key: str
    customer_id: int
    purpose: str
    channel: str
    template_family: str
    status: str
    sent_at: datetime | None
    due_at: datetime | None
    created_at: datetime | None

    @property
    def moment(self) -> datetime | None:
        return self.sent_at or self.due_at or self.created_at


SEND_ROW_FIELDS = (
    "id", "idempotency_key", "customer_id", "purpose", "channel", "template_family", "status",
    "sent_at", "due_at", "created_at",
)  # fmt: skip


@dataclass
class BatchInputs:
    """Facts read once for all the customers of one batch transaction: consent states (per
    moment asked), preferences, and their recent counted messages (for caps and echoes), plus a
    memo for other per-batch reads (the workspace policy, templates). Sends the batch itself
    decides are added with ``send_add`` so that they count for the next decision at once."""

    customers: dict[int, Customer]
    consent: dict[datetime, dict[int, dict[tuple[str, str], str]]] = field(default_factory=dict)
    preferences: dict[int, SendPreferences] | None = None
    memo: dict = field(default_factory=dict)
    sends: dict[int, list[SendRow]] | None = None
    sends_since: datetime | None = None
    added: dict[int, list[SendRow]] = field(default_factory=dict)
    ledgers: dict | None = None  # consent entries per customer, read at the first question

    def consent_at(self, at: datetime) -> dict[int, dict[tuple[str, str], str]]:
        """States at ``at``; the ledgers are read once per batch, whatever moments are asked."""
        if at not in self.consent:
            if self.ledgers is None:
                self.ledgers = consent_entries_bulk(customer_ids=list(self.customers))
            self.consent[at] = consent_states_from(self.ledgers, list(self.customers), at)
        return self.consent[at]

    def sends_of(self, customer_id: int, since: datetime) -> list[SendRow]:
        """The customer's counted messages whose moment may fall at or after ``since``: one
        query for the whole batch (read again only when asked about an earlier moment)."""
        if self.sends is None or self.sends_since is None or since < self.sends_since:
            low = since - timedelta(hours=12)
            rows = Message.objects.filter(
                customer_id__in=list(self.customers), status__in=CAP_COUNTED_STATUSES
            ).filter(Q(sent_at__gte=low) | Q(due_at__gte=low) | Q(created_at__gte=low))
            self.sends = {}
            for values in rows.values_list(*SEND_ROW_FIELDS):
                row = SendRow(*values)
                self.sends.setdefault(row.customer_id, []).append(row)
            self.sends_since = low
        stored = self.sends.get(customer_id, [])
        added = self.added.get(customer_id, [])
        if not added:
            return stored
        keys = {row.key for row in stored}
        return stored + [row for row in added if row.key not in keys]

    def send_add(self, row: SendRow) -> None:
        self.added.setdefault(row.customer_id, []).append(row)


_batch: ContextVar[BatchInputs | None] = ContextVar("policy_batch", default=None)


@contextmanager
def batch_inputs(customers: Iterable[Customer]) -> Iterator[BatchInputs]:
    """Within the block, decisions for these customers read consent and preferences in bulk
    (one query each per batch instead of one per message). Use inside the batch's transaction."""
    by_id = {c.pk: c for c in customers}
    outer = _batch.get()
    if outer is not None and by_id.keys() <= outer.customers.keys():
        yield outer  # an enclosing batch already covers them: share its reads
        return
    scope = BatchInputs(by_id)
    token = _batch.set(scope)
    try:
        yield scope
    finally:
        _batch.reset(token)


def consent_states_of(customer_ids: list[int], at: datetime) -> dict:
    """``consent_states_bulk``, answered by the current batch when it covers the customers."""
    scope = _batch.get()
    if scope is not None and set(customer_ids) <= scope.customers.keys():
        states = scope.consent_at(at)
        return {cid: states.get(cid, {}) for cid in customer_ids}
    return consent_states_bulk(customer_ids=customer_ids, at=at)


def batch_scope(customer: Customer) -> BatchInputs | None:
    """The current batch when it covers ``customer``."""
    scope = _batch.get()
    return scope if scope is not None and customer.pk in scope.customers else None


def batch_memo() -> dict | None:
    """The current batch's memo (None outside ``batch_inputs``)."""
    scope = _batch.get()
    return scope.memo if scope is not None else None


# --- from the consent capability --------------------------------------------------------------


def consent_status_at(*, customer: Customer, channel: str, purpose: str, at: datetime) -> str:
    """granted, withdrawn, none or expired for (channel, purpose) at ``at``."""
    scope = _batch.get()
    if scope is not None and customer.pk in scope.customers:
        states = scope.consent_at(at).get(customer.pk, {})
        if (channel, purpose) in states:
            return states[(channel, purpose)]
    return consent_state(customer=customer, channel=channel, purpose=purpose, at=at)


def preferences_of(*, customer: Customer) -> SendPreferences:
    """Preferred channels, quiet hours, do-not-call and DND (defaults when none stored)."""
    scope = _batch.get()
    if scope is not None and customer.pk in scope.customers:
        if scope.preferences is None:
            scope.preferences = preferences_bulk(scope.customers.values())
        return scope.preferences[customer.pk]
    return preferences_for(customer)


# --- from events and the outbox ---------------------------------------------------------------


def whatsapp_last_inbound_at(*, customer: Customer, at: datetime) -> datetime | None:
    """When the customer last wrote to us on WhatsApp (opens the 24-hour service window)."""
    event = (
        Event.objects.filter(
            customer=customer,
            name="inbound.message",
            properties__channel="whatsapp",
            occurred_at__lte=at,
        )
        .order_by("-occurred_at", "-id")
        .only("occurred_at")
        .first()
    )
    return event.occurred_at if event else None


def _counted(customer: Customer, exclude_id: int | None):
    qs = Message.objects.filter(customer=customer, status__in=CAP_COUNTED_STATUSES)
    return qs.exclude(pk=exclude_id) if exclude_id else qs


def _on_day(start: datetime, end: datetime) -> Q:
    """Sent ones count on the day they left, pending ones on the day they are due."""
    return Q(status__in=SENT_STATUSES, sent_at__gte=start, sent_at__lt=end) | Q(
        status__in=PENDING_STATUSES, due_at__gte=start, due_at__lt=end
    )


def _counts_on_day(row: SendRow, start: datetime, end: datetime) -> bool:
    """``_on_day`` for one row."""
    if row.status in SENT_STATUSES:
        return row.sent_at is not None and start <= row.sent_at < end
    return row.status in PENDING_STATUSES and row.due_at is not None and start <= row.due_at < end


def sent_today(
    *, customer: Customer, at: datetime, tz: str, exclude_id: int | None = None
) -> SentToday:
    """Non-transactional messages on the customer's local day of ``at`` (see CAP_COUNTED_STATUSES).

    ``exclude_id`` leaves out the message being re-checked, so it does not count against itself.
    """
    start, end = local_day_bounds(at, tz)
    scope = batch_scope(customer)
    if scope is not None:
        rows = [
            r
            for r in scope.sends_of(customer.pk, start)
            if r.id is None or r.id != exclude_id
            if r.purpose != "transactional" and _counts_on_day(r, start, end)
        ]
        promotional = sum(1 for r in rows if r.purpose == "promotional")
        return SentToday(promotional=promotional, total=len(rows))
    counts = (
        _counted(customer, exclude_id)
        .filter(_on_day(start, end))
        .exclude(purpose="transactional")
        .aggregate(total=Count("id"), promotional=Count("id", filter=Q(purpose="promotional")))
    )
    return SentToday(promotional=counts["promotional"], total=counts["total"])


def echo_last_at(
    *,
    customer: Customer,
    family: str,
    channel: str,
    exclude_id: int | None = None,
    since: datetime | None = None,
) -> datetime | None:
    """When the same template family last went (or is due to go) out on another channel.

    ``since``: moments before it cannot matter to the caller (inside a batch the answer then
    comes from the batch's prefetched messages)."""
    scope = batch_scope(customer) if since is not None else None
    if scope is not None:
        moments = [
            r.moment
            for r in scope.sends_of(customer.pk, since)
            if (r.id is None or r.id != exclude_id)
            and r.template_family == family
            and r.channel != channel
            and r.moment is not None
            and r.moment >= since
        ]
        return max(moments, default=None)
    row = (
        _counted(customer, exclude_id)
        .filter(template_family=family)
        .exclude(channel=channel)
        .annotate(moment=Coalesce("sent_at", "due_at", "created_at"))
        .order_by("-moment")
        .values_list("moment", flat=True)
        .first()
    )
    return row


# --- engagement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelHistory:
    attempts: int = 0
    delivered: int = 0
    read: int = 0
    replied: int = 0

    @property
    def score(self) -> float:
        """0..1: the smoothed reach rate (delivered or better, Beta(1, 1) prior, so no history
        is 0.5 before scaling) plus a bonus of up to half as much for reads and replies.

        Reach dominates so that a channel with proven deliveries beats an unknown one even when
        it has no read receipts (SMS), and failures push a channel below an unknown one.
        """
        reach = (self.delivered + 1) / (self.attempts + 2)
        response = (self.read + self.replied) / (2 * (self.attempts + 2))
        return (reach + response) / 1.5


_ATTEMPTED = ("sent", "delivered", "read", "replied", "failed", "undelivered")


def channel_histories(*, customer: Customer) -> dict[str, ChannelHistory]:
    """Per channel: attempted messages and how far each got (a status implies the earlier ones)."""
    rows = (
        Message.objects.filter(customer=customer, status__in=_ATTEMPTED)
        .values("channel")
        .annotate(
            attempts=Count("id"),
            delivered=Count("id", filter=Q(status__in=("delivered", "read", "replied"))),
            read=Count("id", filter=Q(status__in=("read", "replied"))),
            replied=Count("id", filter=Q(status="replied")),
        )
        .order_by()
    )
    histories = {channel: ChannelHistory() for channel in CHANNELS}
    for row in rows:
        channel = row.pop("channel")
        histories[channel] = ChannelHistory(**row)
    return histories


def engagement_scores(*, customer: Customer) -> dict[str, float]:
    return {channel: h.score for channel, h in channel_histories(customer=customer).items()}
