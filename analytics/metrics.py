"""Journey-level metrics as pure functions over plain rows (no database, no Django).

Every formula here is the one written in ``docs/metrics.md``; the rollups (``analytics.cells``)
store the counts these functions need, so a dashboard computes the same numbers from rollups that
these functions compute from rows. Tests feed hand-built rows where the answer is known.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property

DIGITAL_CHANNELS = ("sms", "whatsapp")
OPEN_STATUSES = ("active", "waiting")
# A message "attempted" left the outbox for a provider (blocked, queued, deferred did not).
ATTEMPTED = ("sent", "delivered", "read", "replied", "failed", "undelivered", "sending", "unknown")
FAILED = ("failed", "undelivered")
# Contacts (repeat contact rate): the customer reached out to the business.
CONTACT_KINDS = ("call", "message", "advisor")
# Escalation signals besides a voice node: an inbound call, an agent request, an advisor tap.
ESCALATION_KINDS = ("call", "agent", "advisor")
DEFAULT_REPEAT_WINDOW = timedelta(days=7)
TTC_BUCKET_RATIO = 1.2  # histogram buckets for time to completion: each 20% wider than the last


# --- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    run_id: int
    customer_id: int
    journey_id: int
    version: int
    status: str
    entered_at: datetime
    holdout: bool = False
    ended_at: datetime | None = None
    goal_reached_at: datetime | None = None
    nodes: tuple[str, ...] = ()  # nodes the run entered, in order
    arms: tuple[tuple[str, str], ...] = ()  # (split node, port) taken

    @property
    def group(self) -> str:
        return "holdout" if self.holdout else "treatment"

    @property
    def reached_goal(self) -> bool:
        return self.status == "completed" or self.goal_reached_at is not None

    @property
    def last_node(self) -> str:
        return self.nodes[-1] if self.nodes else ""


@dataclass(frozen=True)
class MessageRow:
    message_id: int
    customer_id: int
    channel: str
    created_at: datetime
    statuses: frozenset[str] = frozenset()  # every status the message reached
    run_id: int | None = None
    journey_id: int = 0
    version: int = 0
    node_id: str = ""
    provider: str = ""
    template: str = ""
    language: str = ""
    cost: Decimal | None = None
    decision_reason: str = ""
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None

    @cached_property
    def reached(self) -> frozenset[str]:
        """Statuses reached, closed under implication: read or replied means delivered."""
        s = set(self.statuses)
        if s & {"read", "replied"}:
            s.add("delivered")
        if s & {"delivered", "read", "replied"}:
            s.add("sent")
        if s & set(ATTEMPTED):
            s.add("attempted")
        if s & set(FAILED):
            s.add("failed")
        return frozenset(s)

    @property
    def touched_at(self) -> datetime:
        return self.sent_at or self.created_at


@dataclass(frozen=True)
class ContactRow:
    """A contact signal: an inbound call, inbound message, advisor tap ('advisor') or an agent
    request ('agent', an escalation signal only). ``key`` is the correlation value it is about."""

    event_id: int
    customer_id: int
    at: datetime
    kind: str
    channel: str = ""
    key: str = ""
    journey_id: int = 0
    version: int = 0
    group: str = "none"


@dataclass(frozen=True)
class Window:
    """A filter: runs (or messages, contacts) that started in [start, end), of one version."""

    start: datetime | None = None
    end: datetime | None = None
    version: int | None = None

    def holds(self, at: datetime, version: int | None = None) -> bool:
        if self.start is not None and at < self.start:
            return False
        if self.end is not None and at >= self.end:
            return False
        return self.version is None or version is None or version == self.version


EVERYTHING = Window()


@dataclass(frozen=True)
class Ratio:
    hits: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.total if self.total else None

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.hits + other.hits, self.total + other.total)


@dataclass(frozen=True)
class Split:
    treatment: Ratio
    holdout: Ratio


# --- journey-level rates ---------------------------------------------------------------------


def runs_in(runs: Iterable[RunRow], window: Window = EVERYTHING) -> list[RunRow]:
    return [r for r in runs if window.holds(r.entered_at, r.version)]


def completion_rate(runs: Iterable[RunRow], window: Window = EVERYTHING) -> Split:
    """Runs that reached the goal / runs enrolled, treatment and holdout apart. Runs still open
    count in the denominator (they have not completed yet)."""
    chosen = runs_in(runs, window)
    parts = {}
    for group in ("treatment", "holdout"):
        mine = [r for r in chosen if r.group == group]
        parts[group] = Ratio(sum(r.reached_goal for r in mine), len(mine))
    return Split(parts["treatment"], parts["holdout"])


def _by_run(messages: Iterable[MessageRow]) -> dict[int, list[MessageRow]]:
    out: dict[int, list[MessageRow]] = defaultdict(list)
    for m in messages:
        if m.run_id is not None:
            out[m.run_id].append(m)
    return out


def _by_customer(contacts: Iterable[ContactRow]) -> dict[int, list[ContactRow]]:
    out: dict[int, list[ContactRow]] = defaultdict(list)
    for c in contacts:
        out[c.customer_id].append(c)
    return out


def first_digital_touch(messages: Sequence[MessageRow]) -> datetime | None:
    """When the run first reached the customer on SMS or WhatsApp (a message that left us)."""
    times = [
        m.touched_at for m in messages if m.channel in DIGITAL_CHANNELS and "attempted" in m.reached
    ]
    return min(times, default=None)


def escalated(run: RunRow, messages: Sequence[MessageRow], contacts: Sequence[ContactRow]) -> bool:
    """After the run's first digital touch and before it ended: an inbound call, an agent
    request or advisor tap by its customer, or a voice message the run itself sent."""
    start = first_digital_touch(messages)
    if start is None:
        return False
    end = run.ended_at
    for m in messages:
        if m.channel == "voice" and m.created_at >= start:
            return True
    return any(
        c.kind in ESCALATION_KINDS and c.at >= start and (end is None or c.at <= end)
        for c in contacts
    )


def escalation_rate(
    runs: Iterable[RunRow],
    messages: Iterable[MessageRow],
    contacts: Iterable[ContactRow],
    window: Window = EVERYTHING,
) -> Ratio:
    """Runs that escalated from digital to voice / runs with a digital touch (treatment only:
    holdout runs receive nothing, so they never have a digital touch)."""
    per_run, per_customer = _by_run(messages), _by_customer(contacts)
    hits = total = 0
    for run in runs_in(runs, window):
        mine = per_run.get(run.run_id, [])
        if first_digital_touch(mine) is None:
            continue
        total += 1
        hits += escalated(run, mine, per_customer.get(run.customer_id, []))
    return Ratio(hits, total)


# --- repeat contact ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """Contacts of one customer about one key, starting at ``start`` and within the window."""

    customer_id: int
    key: str
    start: datetime
    contacts: int
    journey_id: int = 0
    version: int = 0
    group: str = "none"
    channels: tuple[str, ...] = field(default=())

    @property
    def repeat(self) -> bool:
        return self.contacts >= 2


def contact_episodes(
    contacts: Iterable[ContactRow], window: timedelta = DEFAULT_REPEAT_WINDOW
) -> list[Episode]:
    """Group each customer's contacts per correlation key: an episode starts at a contact and
    takes every later contact about the same key within ``window`` of its start; the next one
    after that starts a new episode. Agent requests are not contacts (they ride on a call)."""
    groups: dict[tuple[int, str], list[ContactRow]] = defaultdict(list)
    for c in contacts:
        if c.kind in CONTACT_KINDS:
            groups[(c.customer_id, c.key)].append(c)
    episodes = []
    for (customer_id, key), rows in groups.items():
        rows.sort(key=lambda c: (c.at, c.event_id))
        current: list[ContactRow] = []
        for row in rows:
            if current and row.at - current[0].at > window:
                episodes.append(_episode(customer_id, key, current))
                current = []
            current.append(row)
        episodes.append(_episode(customer_id, key, current))
    return episodes


def _episode(customer_id: int, key: str, rows: list[ContactRow]) -> Episode:
    first = rows[0]
    return Episode(
        customer_id, key, first.at, len(rows), first.journey_id, first.version, first.group,
        tuple(r.channel for r in rows),
    )  # fmt: skip


def repeat_contact_rate(
    contacts: Iterable[ContactRow],
    window: timedelta = DEFAULT_REPEAT_WINDOW,
    period: Window = EVERYTHING,
) -> Ratio:
    """Episodes with two or more contacts / episodes, for episodes that started in ``period``.
    An episode is one customer about one key, so a customer counts once per matter."""
    chosen = [e for e in contact_episodes(contacts, window) if period.holds(e.start, e.version)]
    return Ratio(sum(e.repeat for e in chosen), len(chosen))


# --- cost and time ----------------------------------------------------------------------------


def run_cost(messages: Iterable[MessageRow]) -> Decimal:
    return sum((m.cost for m in messages if m.cost), Decimal(0))


def cost_per_resolution(
    runs: Iterable[RunRow], messages: Iterable[MessageRow], window: Window = EVERYTHING
) -> Decimal | None:
    """Channel cost of every treatment run in the window / treatment runs that reached the goal
    (the cost of runs that did not complete is part of what a resolution costs)."""
    chosen = [r for r in runs_in(runs, window) if not r.holdout]
    per_run = _by_run(messages)
    done = sum(r.reached_goal for r in chosen)
    if not done:
        return None
    total = sum((run_cost(per_run.get(r.run_id, [])) for r in chosen), Decimal(0))
    return total / done


def completion_seconds(run: RunRow) -> float | None:
    end = run.goal_reached_at or (run.ended_at if run.status == "completed" else None)
    if not run.reached_goal or end is None:
        return None
    return max(0.0, (end - run.entered_at).total_seconds())


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in (0, 1]): the smallest value with at least q of them <= it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def time_to_completion(
    runs: Iterable[RunRow], window: Window = EVERYTHING
) -> tuple[float | None, float | None]:
    """(median, p90) seconds from entry to goal over completed treatment runs."""
    values = [
        s
        for r in runs_in(runs, window)
        if not r.holdout and (s := completion_seconds(r)) is not None
    ]
    return percentile(values, 0.5), percentile(values, 0.9)


def ttc_bucket(seconds: float) -> int:
    """Histogram bucket of a completion time: bucket b holds (1.2^(b-1), 1.2^b] seconds."""
    if seconds <= 1:
        return 0
    return math.ceil(math.log(seconds) / math.log(TTC_BUCKET_RATIO) - 1e-9)


def ttc_bucket_upper(bucket: int) -> float:
    return TTC_BUCKET_RATIO**bucket if bucket > 0 else 1.0


def percentile_from_histogram(histogram: dict[int, int], q: float) -> float | None:
    """Nearest-rank percentile over a bucket histogram, reported as the bucket's upper bound
    (at most 20% above the exact value)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = max(1, math.ceil(q * total)), 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return ttc_bucket_upper(bucket)
    return None


# --- funnel and channels ----------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelRow:
    node_id: str
    reached: int
    ended_here: int  # runs that exited or failed at this node

    @property
    def drop_off(self) -> float | None:
        return self.ended_here / self.reached if self.reached else None


def funnel(
    runs: Iterable[RunRow], order: Sequence[str], window: Window = EVERYTHING
) -> list[FunnelRow]:
    """Per node (in ``order``): distinct runs that entered it, and runs that ended there without
    reaching the goal (drop-off = ended here / reached)."""
    reached: Counter[str] = Counter()
    ended: Counter[str] = Counter()
    for run in runs_in(runs, window):
        for node in set(run.nodes):
            reached[node] += 1
        if run.status in ("exited", "failed", "cancelled") and not run.reached_goal:
            ended[run.last_node] += 1
    return [FunnelRow(n, reached[n], ended[n]) for n in order]


@dataclass(frozen=True)
class ChannelRates:
    attempted: int
    delivered: int
    read: int
    replied: int
    failed: int

    def rate(self, name: str) -> float | None:
        """delivered and failed over attempted; read and replied over delivered."""
        base = self.attempted if name in ("delivered", "failed") else self.delivered
        return getattr(self, name) / base if base else None


def channel_rates(
    messages: Iterable[MessageRow], window: Window = EVERYTHING
) -> dict[str, ChannelRates]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for m in messages:
        if window.holds(m.created_at, m.version if m.journey_id else None):
            counts[m.channel].update(
                m.reached & {"attempted", "delivered", "read", "replied", "failed"}
            )
    return {
        ch: ChannelRates(c["attempted"], c["delivered"], c["read"], c["replied"], c["failed"])
        for ch, c in counts.items()
    }


def blocked_by_reason(messages: Iterable[MessageRow], window: Window = EVERYTHING) -> Counter[str]:
    return Counter(
        m.decision_reason or "unspecified"
        for m in messages
        if "blocked" in m.statuses and window.holds(m.created_at)
    )


def opt_out_rate(withdrawals: int, delivered: int) -> float | None:
    """Consent withdrawals on a channel / messages delivered on it, in the same period."""
    return withdrawals / delivered if delivered else None


# --- significance -----------------------------------------------------------------------------

Z95 = 1.959963984540054


def wilson_interval(ratio: Ratio, z: float = Z95) -> tuple[float, float] | None:
    n = ratio.total
    if not n:
        return None
    p = ratio.hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Uplift:
    difference: float  # treatment rate - holdout rate
    low: float
    high: float
    method: str = "Newcombe hybrid score interval (Wilson), 95%"

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def uplift(treatment: Ratio, holdout: Ratio, z: float = Z95) -> Uplift | None:
    """Difference of completion rates with Newcombe's (1998, method 10) interval: it stays
    inside [-1, 1] and behaves at small samples and rates near 0 or 1, where Wald does not."""
    a, b = wilson_interval(treatment, z), wilson_interval(holdout, z)
    if a is None or b is None:
        return None
    p1, p2 = treatment.rate or 0.0, holdout.rate or 0.0
    (l1, u1), (l2, u2) = a, b
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Uplift(d, low, high)


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def two_proportion_z(a: Ratio, b: Ratio) -> ZTest | None:
    """Pooled two-proportion z-test (two-sided) of a.rate == b.rate."""
    if not a.total or not b.total:
        return None
    pooled = (a.hits + b.hits) / (a.total + b.total)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.total + 1 / b.total))
    if se == 0:
        return ZTest(0.0, 1.0)
    z = ((a.rate or 0.0) - (b.rate or 0.0)) / se
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


def arms(runs: Iterable[RunRow], split_node: str, window: Window = EVERYTHING) -> dict[str, Ratio]:
    """Completion per A/B arm of one split node (treatment runs that took the split)."""
    out: dict[str, Ratio] = {}
    for run in runs_in(runs, window):
        if run.holdout:
            continue
        for node, port in run.arms:
            if node == split_node:
                out[port] = out.get(port, Ratio(0, 0)) + Ratio(int(run.reached_goal), 1)
    return out


def version_comparison(runs: Iterable[RunRow], window: Window = EVERYTHING) -> dict[int, Split]:
    """Completion per version side by side (the window's version filter is ignored)."""
    unversioned = Window(window.start, window.end, None)
    chosen = runs_in(runs, unversioned)
    versions = sorted({r.version for r in chosen})
    return {v: completion_rate([r for r in chosen if r.version == v]) for v in versions}
