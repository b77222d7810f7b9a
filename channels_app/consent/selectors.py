"""Reads for consent and preferences: the matrix, the send check's inputs, history and search.

The state in force is always derived by channels_app.consent_ledger.consent_current from the
ledger rows, never stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from channels_app import consent_ledger as ledger
from channels_app.consent_ledger import CHANNELS, PURPOSES
from channels_app.models.consent import ConsentEntry, CustomerPreference
from channels_app.policy import QuietHours
from console.models import Customer, Workspace
from console.phones import phone_search_key


@dataclass(frozen=True)
class MatrixCell:
    """The state of one (channel, purpose) and the ledger row that decided it (None if never)."""

    channel: str
    purpose: str
    status: str  # granted, withdrawn, none, expired
    entry: ConsentEntry | None

    @property
    def granted(self) -> bool:
        return self.status == "granted"


def _pure(row: ConsentEntry) -> ledger.ConsentEntry:
    return ledger.ConsentEntry(
        channel=row.channel,
        purpose=row.purpose,
        status=row.status,
        source=row.source,
        at=row.at,
        expires_at=row.expires_at,
    )


def _derive(rows: Iterable[ConsentEntry], now: datetime) -> dict[tuple[str, str], MatrixCell]:
    """Fold rows (oldest first, so ties go to the later id) into cells via consent_current."""
    pairs = [(_pure(row), row) for row in rows]
    by_identity = {id(pure): row for pure, row in pairs}
    states = ledger.consent_current([pure for pure, _ in pairs], now=now)
    return {
        key: MatrixCell(
            key[0], key[1], state.status, by_identity.get(id(state.entry)) if state.entry else None
        )
        for key, state in states.items()
    }


def consent_state_for(
    customer: Customer, *, now: datetime | None = None
) -> dict[tuple[str, str], MatrixCell]:
    """The matrix: a MatrixCell for every (channel, purpose) in CHANNELS x PURPOSES."""
    rows = ConsentEntry.objects.filter(customer=customer).order_by("at", "id")
    return _derive(rows, now or timezone.now())


def consent_matrix_rows(
    matrix: dict[tuple[str, str], MatrixCell],
) -> list[tuple[str, list[MatrixCell]]]:
    """The matrix as rows per channel, columns in PURPOSES order (for templates)."""
    return [(channel, [matrix[(channel, purpose)] for purpose in PURPOSES]) for channel in CHANNELS]


def consent_matrix_public(customer: Customer) -> dict:
    """{channel: {purpose: {status, source, at, expires_at, proof}}} for the API."""
    result: dict[str, dict] = {channel: {} for channel in CHANNELS}
    for (channel, purpose), cell in consent_state_for(customer).items():
        entry = cell.entry
        result[channel][purpose] = {
            "status": cell.status,
            "source": entry.source if entry else None,
            "at": entry.at.isoformat() if entry else None,
            "expires_at": entry.expires_at.isoformat() if entry and entry.expires_at else None,
            "proof": entry.proof if entry else None,
        }
    return result


def consent_state(
    *, customer: Customer, channel: str, purpose: str, at: datetime | None = None
) -> str:
    """granted, withdrawn, none or expired for one pair at ``at`` (default now); one read."""
    now = at or timezone.now()
    latest = list(
        ConsentEntry.objects.filter(
            customer=customer, channel=channel, purpose=purpose, at__lte=now
        ).order_by("-at", "-id")[:1]
    )
    return _derive(latest, now)[(channel, purpose)].status


def consent_allows(
    *, customer: Customer, channel: str, purpose: str, at: datetime | None = None
) -> tuple[bool, str]:
    """Whether consent permits a message now, and why not: ``(True, "")`` or
    ``(False, "no_consent:<channel>:<purpose>")``.

    Same rule as channels_app.policy: transactional counts as consented unless the customer
    withdrew; service and promotional need a current, unexpired grant. DND, do-not-call and hours
    are not consent: the policy function checks those from ``preferences_for``.
    """
    state = consent_state(customer=customer, channel=channel, purpose=purpose, at=at)
    allowed = state != "withdrawn" if purpose == "transactional" else state == "granted"
    return (True, "") if allowed else (False, f"no_consent:{channel}:{purpose}")


def consent_states_bulk(
    *, customer_ids: Iterable[int], at: datetime | None = None
) -> dict[int, dict[tuple[str, str], str]]:
    """The state string per (channel, purpose) for many customers in one query (batch senders)."""
    now = at or timezone.now()
    ids = list(customer_ids)
    return consent_states_from(consent_entries_bulk(customer_ids=ids, until=now), ids, now)


def consent_entries_bulk(
    *, customer_ids: Iterable[int], until: datetime | None = None
) -> dict[int, list[ledger.ConsentEntry]]:
    """The ledgers of many customers (up to ``until``), oldest first, as plain tuples."""
    grouped: dict[int, list[ledger.ConsentEntry]] = defaultdict(list)
    rows = ConsentEntry.objects.filter(customer_id__in=list(customer_ids))
    if until is not None:
        rows = rows.filter(at__lte=until)
    fields = ("customer_id", "channel", "purpose", "status", "source", "at", "expires_at")
    for customer_id, *values in rows.order_by("at", "id").values_list(*fields):
        grouped[customer_id].append(ledger.ConsentEntry(*values))
    return grouped


def consent_states_from(
    entries: dict[int, list[ledger.ConsentEntry]], customer_ids: Iterable[int], at: datetime
) -> dict[int, dict[tuple[str, str], str]]:
    """``consent_states_bulk`` from ledgers already read (entries after ``at`` do not count)."""
    return {
        cid: {
            key: state.status
            for key, state in ledger.consent_current(entries.get(cid, []), now=at).items()
        }
        for cid in customer_ids
    }


def consent_history(customer: Customer, *, limit: int | None = None) -> QuerySet[ConsentEntry]:
    """The customer's ledger, newest first."""
    qs = ConsentEntry.objects.filter(customer=customer).order_by("-at", "-id")
    return qs[:limit] if limit else qs


# --- preferences ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SendPreferences:
    """What the send policy needs to know about a customer beyond consent."""

    preferred_channels: tuple[str, ...]
    language: str
    timezone: str
    quiet_hours: QuietHours | None
    do_not_call: bool
    dnd: bool
    dnd_blocked_categories: frozenset[int] | None  # None or empty with dnd = fully blocked


def preference_row(customer: Customer) -> CustomerPreference | None:
    return CustomerPreference.objects.filter(customer=customer).first()


def _send_preferences(customer: Customer, pref: CustomerPreference | None) -> SendPreferences:
    quiet = None
    if pref and pref.quiet_start is not None and pref.quiet_end is not None:
        quiet = QuietHours(start=pref.quiet_start, end=pref.quiet_end)
    return SendPreferences(
        preferred_channels=tuple(pref.preferred_channels) if pref else (),
        language=customer.language,
        timezone=customer.timezone,
        quiet_hours=quiet,
        do_not_call=bool(pref and pref.do_not_call),
        dnd=bool(pref and pref.dnd),
        dnd_blocked_categories=frozenset(pref.dnd_categories)
        if pref and pref.dnd_categories
        else None,
    )


def preferences_for(customer: Customer) -> SendPreferences:
    """Preferences, quiet hours, do-not-call and DND of one customer (defaults when none stored)."""
    return _send_preferences(customer, preference_row(customer))


def preferences_bulk(customers: Iterable[Customer]) -> dict[int, SendPreferences]:
    """preferences_for for many customers in one query, keyed by customer id."""
    customers = list(customers)
    prefs = {
        p.customer_id: p
        for p in CustomerPreference.objects.filter(customer_id__in=[c.id for c in customers])
    }
    return {c.id: _send_preferences(c, prefs.get(c.id)) for c in customers}


# --- search ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentPage:
    rows: list[ConsentEntry]
    next_before: int | None


def _day_start(day: date, tz) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), tz)


def consent_search(
    *,
    workspace: Workspace,
    customer: str = "",
    channel: str = "",
    purpose: str = "",
    status: str = "",
    source: str = "",
    since: date | None = None,
    until: date | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> ConsentPage:
    """Ledger entries of the workspace, most recently recorded first, keyset-paged by id.

    ``customer`` matches an external id exactly, a phone number, or the start of a name; dates
    are whole days in the workspace's zone, ``until`` included.
    """
    qs = ConsentEntry.objects.filter(workspace=workspace).select_related("customer")
    text = customer.strip()
    if text:
        match = Q(external_id=text) | Q(name_key__startswith=text.lower())
        phone = phone_search_key(text)
        if phone:
            match |= Q(phone=phone)
        qs = qs.filter(customer__in=Customer.objects.filter(Q(workspace=workspace) & match))
    for name, value in (
        ("channel", channel),
        ("purpose", purpose),
        ("status", status),
        ("source", source),
    ):
        if value:
            qs = qs.filter(**{name: value})
    tz = ZoneInfo(workspace.timezone or "Asia/Kolkata")
    if since:
        qs = qs.filter(at__gte=_day_start(since, tz))
    if until:
        qs = qs.filter(at__lt=_day_start(until + timedelta(days=1), tz))
    if before_id:
        qs = qs.filter(id__lt=before_id)
    rows = list(qs.order_by("-id")[: limit + 1])
    next_before = rows[limit - 1].id if len(rows) > limit else None
    return ConsentPage(rows=rows[:limit], next_before=next_before)
