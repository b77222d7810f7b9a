"""The send decision: may this message go to this customer on this channel now? (pure Python)

``decide_send`` takes everything it needs in one frozen ``SendCheck`` and returns a ``Decision``:
``send``, ``defer`` (with ``until``, the next allowed moment in the customer's zone) or ``block``.

Checks run in this order; the first that fails decides, so every blocking reason wins over a defer:

1. consent       ``no_consent:<channel>:<purpose>``  (block)
2. DND           ``dnd``                             (block)
3. do-not-call   ``do_not_call``                     (block)
4. WhatsApp template approval   ``template_not_approved``  (block)
5. WhatsApp 24-hour window      ``outside_service_window`` (block)
6. caps          ``cap:daily`` then ``cap:daily_total``      (block)
7. echo          ``echo``                            (block)
8. hours         ``quiet_hours``                     (defer; block if the windows never overlap)

Consent rule: transactional messages count as consented unless the customer explicitly withdrew;
service and promotional messages need a current grant ("none" and "expired" are not consent).
Scope of each check: DND holds back promotional SMS and calls only (NCPR is set per mode and
transactional/service traffic reaches DND numbers); do-not-call stops every call; ``cap:daily`` is
the promotional daily cap and ``cap:daily_total`` the cap on all non-transactional messages;
echo applies to every purpose. Hours: TRAI's 09:00-21:00 for promotional SMS and calls and RBI's
08:00-19:00 for collection calls always apply, a workspace's windows can only narrow them, and the
customer's own quiet hours hold back everything except transactional messages.
Caps block rather than defer: a promotion pushed to tomorrow is usually stale, and the journey that
asked can choose to retry. Times are checked in the customer's zone (IANA name, default
Asia/Kolkata, which has no DST); zones with DST are handled, including wall times that do not
exist (spring forward) or happen twice (fall back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CHANNELS = ("sms", "whatsapp", "voice")
PURPOSES = ("transactional", "service", "promotional")
CONSENT_STATES = ("granted", "withdrawn", "none", "expired")
ACTIONS = ("send", "defer", "block")
DEFAULT_TZ = "Asia/Kolkata"
DEFAULT_CHANNEL_ORDER = ("whatsapp", "sms", "voice")
SERVICE_WINDOW = timedelta(hours=24)
# Channels that the NCPR/DND preference covers (it is set per mode: SMS, voice).
DND_CHANNELS = frozenset({"sms", "voice"})
_MAX_WINDOW_ROUNDS = 32


@dataclass(frozen=True)
class SendWindow:
    """Local hours [start, end) when a channel may be used for a purpose.

    ``channel`` and ``purpose`` may be "*"; purpose "collection" matches collection/reminder calls
    whatever their purpose. ``start > end`` wraps midnight; ``start == end`` means all day.
    """

    channel: str
    purpose: str
    start: time
    end: time


# TRAI: promotional SMS and calls 09:00-21:00; RBI: collection/recovery calls 08:00-19:00.
# These always apply; a workspace's own windows can only narrow them.
REGULATORY_SEND_WINDOWS = (
    SendWindow("sms", "promotional", time(9), time(21)),
    SendWindow("voice", "promotional", time(9), time(21)),
    SendWindow("voice", "collection", time(8), time(19)),
)


@dataclass(frozen=True)
class QuietHours:
    """The customer's own do-not-disturb hours [start, end) in their zone; 21:00-09:00 wraps.

    Equal start and end mean no quiet hours (use ``do_not_call`` or consent to stop contact).
    """

    start: time
    end: time


@dataclass(frozen=True)
class FrequencyCaps:
    """Daily limits per customer; None means no limit. Transactional messages are exempt."""

    promotional_daily: int | None = None
    total_daily: int | None = None


@dataclass(frozen=True)
class SentToday:
    """Messages already sent on the customer's local day (see ``local_day_bounds``).

    ``total`` counts service and promotional messages: transactional ones are exempt from caps.
    """

    promotional: int = 0
    total: int = 0


@dataclass(frozen=True)
class EchoCheck:
    """When the same template family last went out on another channel, and the quiet gap wanted."""

    last_other_channel_at: datetime | None
    window: timedelta


@dataclass(frozen=True)
class SendCheck:
    """Everything ``decide_send`` looks at. ``now`` must be aware.

    ``consent`` is the state for (channel, purpose): granted, withdrawn, none or expired.
    ``dnd_blocked_categories`` are the NCPR categories (1-8) the customer blocks; None or empty
    with ``dnd`` set is read as fully blocked, as is an unknown ``workspace_category``.
    ``send_windows`` are the workspace's own windows, applied on top of the regulatory ones.
    """

    now: datetime
    channel: str
    purpose: str
    consent: str = "none"
    customer_tz: str = DEFAULT_TZ
    collection_call: bool = False
    dnd: bool = False
    dnd_blocked_categories: frozenset[int] | None = None
    workspace_category: int | None = None
    quiet_hours: QuietHours | None = None
    do_not_call: bool = False
    template_status: str | None = None
    session_message: bool = False
    last_inbound_at: datetime | None = None
    caps: FrequencyCaps = field(default_factory=FrequencyCaps)
    sent_today: SentToday = field(default_factory=SentToday)
    echo: EchoCheck | None = None
    send_windows: tuple[SendWindow, ...] = ()

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        for name, value, allowed in (
            ("channel", self.channel, CHANNELS),
            ("purpose", self.purpose, PURPOSES),
            ("consent", self.consent, CONSENT_STATES),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        zone_of(self.customer_tz)


@dataclass(frozen=True)
class Decision:
    """What to do with one message: ``action`` send/defer/block, a machine ``reason``, ``until``
    (aware, in the customer's zone) for a defer, and a ``detail`` sentence for people."""

    action: str
    reason: str = ""
    until: datetime | None = None
    detail: str = ""


@dataclass(frozen=True)
class ChannelOption:
    """One channel ``best_channel`` may pick: can we reach the customer there, and may we now?"""

    channel: str
    reachable: bool
    decision: Decision


def zone_of(tz: str | ZoneInfo) -> ZoneInfo:
    """The ZoneInfo for an IANA name; ValueError for an unknown one."""
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {tz!r}: use an IANA name such as Asia/Kolkata"
        ) from None


# --- local time arithmetic ---------------------------------------------------------------------


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """Local wall time of ``moment`` in ``zone``; via UTC, because astimezone() to the same tzinfo
    returns its argument unchanged even when that wall time does not exist."""
    return _local(moment, zone).replace(tzinfo=None)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(UTC).astimezone(zone)


def _wall_to_aware(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The earliest instant whose wall time in ``zone`` is at or after ``day`` ``at``.

    For a wall time that happens twice this is the first; for one skipped by a DST jump it is
    the moment of the jump.
    """
    naive = datetime.combine(day, at)
    candidate = naive.replace(tzinfo=zone, fold=0)
    if _wall(candidate, zone) == naive:
        return candidate
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _wall(middle, zone) >= naive:
            high = middle
        else:
            low = middle
    return _local(high.replace(microsecond=0), zone)


def _in_window(at: time, start: time, end: time) -> bool:
    if start == end:
        return True
    if start < end:
        return start <= at < end
    return at >= start or at < end


def next_allowed_moment(
    now: datetime, tz: str | ZoneInfo, window_start: time, window_end: time
) -> datetime:
    """``now`` (in ``tz``) if it is inside the local window [start, end), else the next start.

    The window wraps midnight when start > end (e.g. 21:00-09:00) and is all day when they are
    equal. The result is aware, in ``tz``; a start skipped by a DST jump opens at the jump.
    """
    zone = zone_of(tz)
    local = _local(now, zone)
    if _in_window(local.time(), window_start, window_end):
        return local
    for days in range(4):
        candidate = _wall_to_aware(local.date() + timedelta(days=days), window_start, zone)
        opens = _local(candidate, zone)
        # Compare in UTC: aware datetimes sharing a tzinfo compare by wall time, ignoring fold.
        if opens.astimezone(UTC) > local.astimezone(UTC) and _in_window(
            opens.time(), window_start, window_end
        ):
            return opens
    raise ValueError("window never opens")  # pragma: no cover - a window opens every day


def local_day_bounds(now: datetime, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """The customer's calendar day containing ``now`` as aware UTC datetimes [start, end)."""
    zone = zone_of(tz)
    return _day_bounds(_local(now, zone).date(), zone)


@lru_cache(maxsize=1024)
def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    # A batch asks for the same few (day, zone) pairs once per message.
    start = _wall_to_aware(day, time(0), zone)
    end = _wall_to_aware(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def sends_on_local_day(sent_at: Iterable[datetime], *, now: datetime, tz: str | ZoneInfo) -> int:
    """How many of the aware ``sent_at`` times fall on the customer's local day of ``now``."""
    start, end = local_day_bounds(now, tz)
    return sum(1 for moment in sent_at if start <= moment < end)


# --- the checks --------------------------------------------------------------------------------

_LABELS = {"sms": "SMS", "whatsapp": "WhatsApp", "voice": "voice calls"}


def _block(reason: str, detail: str) -> Decision:
    return Decision("block", reason, None, detail)


def _check_consent(inp: SendCheck) -> Decision | None:
    if inp.purpose == "transactional":
        consented = inp.consent != "withdrawn"
    else:
        consented = inp.consent == "granted"
    if consented:
        return None
    state = {"none": "has not given", "expired": "has an expired"}.get(inp.consent, "withdrew")
    return _block(
        f"no_consent:{inp.channel}:{inp.purpose}",
        f"The customer {state} consent for {inp.purpose} {_LABELS[inp.channel]}.",
    )


def _check_dnd(inp: SendCheck) -> Decision | None:
    if not (inp.dnd and inp.purpose == "promotional" and inp.channel in DND_CHANNELS):
        return None
    blocked = inp.dnd_blocked_categories
    if blocked and inp.workspace_category is not None and inp.workspace_category not in blocked:
        return None
    return _block("dnd", "The number is on DND for this category of promotional messages.")


def _check_do_not_call(inp: SendCheck) -> Decision | None:
    if inp.channel == "voice" and inp.do_not_call:
        return _block("do_not_call", "The customer asked not to be called.")
    return None


def _check_template(inp: SendCheck) -> Decision | None:
    if inp.channel != "whatsapp" or inp.session_message:
        return None
    if (inp.template_status or "").upper() == "APPROVED":
        return None
    status = inp.template_status or "not submitted"
    return _block(
        "template_not_approved", f"The WhatsApp template is {status}; only approved ones can go."
    )


def _check_service_window(inp: SendCheck) -> Decision | None:
    if inp.channel != "whatsapp" or not inp.session_message:
        return None
    last = inp.last_inbound_at
    if last is not None and inp.now - last < SERVICE_WINDOW:
        return None
    return _block(
        "outside_service_window",
        "Free-form WhatsApp messages need a customer message in the last 24 hours: use a template.",
    )


def _check_caps(inp: SendCheck) -> Decision | None:
    caps, sent = inp.caps, inp.sent_today
    if inp.purpose == "transactional":
        return None
    if inp.purpose == "promotional" and caps.promotional_daily is not None:
        if sent.promotional >= caps.promotional_daily:
            return _block(
                "cap:daily", f"Daily promotional cap of {caps.promotional_daily} reached."
            )
    if caps.total_daily is not None and sent.total >= caps.total_daily:
        return _block("cap:daily_total", f"Daily cap of {caps.total_daily} messages reached.")
    return None


def _check_echo(inp: SendCheck) -> Decision | None:
    echo = inp.echo
    if echo is None or echo.last_other_channel_at is None:
        return None
    if inp.now - echo.last_other_channel_at < echo.window:
        return _block("echo", "The same message went out on another channel moments ago.")
    return None


_BLOCKING_CHECKS: tuple[Callable[[SendCheck], Decision | None], ...] = (
    _check_consent,
    _check_dnd,
    _check_do_not_call,
    _check_template,
    _check_service_window,
    _check_caps,
    _check_echo,
)


def _applicable_windows(inp: SendCheck) -> list[tuple[time, time]]:
    windows = []
    for rule in REGULATORY_SEND_WINDOWS + inp.send_windows:
        purpose_matches = rule.purpose in (inp.purpose, "*") or (
            rule.purpose == "collection" and inp.collection_call
        )
        if rule.channel in (inp.channel, "*") and purpose_matches:
            windows.append((rule.start, rule.end))
    if inp.quiet_hours is not None and inp.purpose != "transactional":
        windows.append((inp.quiet_hours.end, inp.quiet_hours.start))
    return windows


def _earliest_common_moment(
    now: datetime, zone: ZoneInfo, windows: Sequence[tuple[time, time]]
) -> datetime | None:
    """The first moment at or after ``now`` inside every window, or None if they never overlap."""
    moment = _local(now, zone)
    for _ in range(_MAX_WINDOW_ROUNDS):
        shifted = moment
        for start, end in windows:
            shifted = next_allowed_moment(shifted, zone, start, end)
        if shifted.astimezone(UTC) == moment.astimezone(UTC):
            return moment
        moment = shifted
    return None


def _check_hours(inp: SendCheck) -> Decision:
    zone = zone_of(inp.customer_tz)
    until = _earliest_common_moment(inp.now, zone, _applicable_windows(inp))
    if until is None:
        return _block("quiet_hours", "The allowed hours and the customer's quiet hours never meet.")
    if until.astimezone(UTC) == inp.now.astimezone(UTC):
        return Decision("send", "", None, "Allowed now.")
    return Decision(
        "defer",
        "quiet_hours",
        until,
        f"Outside allowed hours in {zone.key}: next allowed at {until:%d %b %Y %H:%M %Z}.",
    )


def decide_send(inp: SendCheck) -> Decision:
    """Decide whether a message may go now; see the module docstring for the order of checks."""
    for check in _BLOCKING_CHECKS:
        decision = check(inp)
        if decision is not None:
            return decision
    return _check_hours(inp)


# --- choosing a channel ------------------------------------------------------------------------


def _channel_order(
    preference_order: Sequence[str] | None,
    candidates: Sequence[ChannelOption],
    engagement: Mapping[str, float],
) -> list[str]:
    if preference_order:
        return list(dict.fromkeys(preference_order))

    def rank(option: ChannelOption) -> tuple[float, int]:
        default = DEFAULT_CHANNEL_ORDER
        position = default.index(option.channel) if option.channel in default else len(default)
        return (-engagement.get(option.channel, 0.0), position)

    return list(dict.fromkeys(option.channel for option in sorted(candidates, key=rank)))


def best_channel(
    *,
    preference_order: Sequence[str] | None,
    candidates: Sequence[ChannelOption],
    engagement: Mapping[str, float] | None = None,
) -> tuple[str | None, list[str]]:
    """Pick the first channel that is reachable and whose decision is "send" now.

    With a stated ``preference_order`` only those channels are tried, in that order (a customer's
    stated choice is not overridden). Without one, candidates are ordered by ``engagement`` score,
    highest first, then whatsapp, sms, voice. Returns the channel (or None) and, for every channel
    tried before it, "<channel>: <why>" where why is "not_offered", "unreachable" or the decision's
    reason (e.g. "sms: quiet_hours").
    """
    by_channel = {option.channel: option for option in reversed(candidates)}
    passed_over: list[str] = []
    for channel in _channel_order(preference_order, candidates, engagement or {}):
        option = by_channel.get(channel)
        if option is None:
            passed_over.append(f"{channel}: not_offered")
        elif not option.reachable:
            passed_over.append(f"{channel}: unreachable")
        elif option.decision.action != "send":
            passed_over.append(f"{channel}: {option.decision.reason or option.decision.action}")
        else:
            return channel, passed_over
    return None, passed_over
