"""Dashboard reads: sums over rollup cells (plus tiny lookups: journeys, versions, provider
health), turned into numbers with the formulas of ``analytics.metrics``. Nothing here scans runs,
messages or events."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum

from analytics.cells import MONEY_SCALE
from analytics.metrics import (
    Ratio,
    percentile_from_histogram,
    two_proportion_z,
    uplift,
    wilson_interval,
)
from analytics.models import DailyCell
from journeys.clock import clock_now
from journeys.models import Journey, JourneyVersion

RATE_METRICS = (
    "run.enrolled",
    "run.completed",
    "run.digital",
    "run.escalated",
    "contact.episode",
    "contact.repeat",
)
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Filters:
    """A date range of workspace-local days [first, last] and an optional version."""

    first: date
    last: date
    version: int | None
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min, self.tz)

    def query(self, **extra) -> str:
        from urllib.parse import urlencode

        params = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        if self.version:
            params["version"] = str(self.version)
        params.update({k: v for k, v in extra.items() if v not in (None, "")})
        return urlencode(params)


def journey_today(workspace, tz: ZoneInfo) -> date:
    """Today on the workspace's journey clock (days ahead of the calendar on the demo)."""
    return clock_now(workspace).astimezone(tz).date()


def filters_parse(params, workspace, today: date | None = None) -> tuple[Filters, dict[str, str]]:
    """Read from/to (YYYY-MM-DD) and version; on bad input keep the default and name the fix."""
    tz = ZoneInfo(workspace.timezone or "Asia/Kolkata")
    today = today or journey_today(workspace, tz)
    errors: dict[str, str] = {}
    last = _date(params.get("to"), today, "to", errors)
    first = _date(params.get("from"), last - timedelta(days=DEFAULT_DAYS - 1), "from", errors)
    if first > last:
        errors["from"] = "The start date must be on or before the end date."
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    version = None
    raw = (params.get("version") or "").strip()
    if raw:
        if raw.isdigit():
            version = int(raw)
        else:
            errors["version"] = "Pick a version number from the list, or leave it empty for all."
    return Filters(first, last, version, tz), errors


def _date(raw: str | None, default: date, name: str, errors: dict) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"Write the {name} date as YYYY-MM-DD, e.g. 2026-03-01."
        return default


def cell_sums(
    workspace, metrics, *, by=("metric", "dim"), journey_id=None, filters=None, since=None
) -> dict[tuple, tuple[int, int]]:
    """Sum count and amount of daily cells grouped by ``by`` (rollup rows only); ``since`` is
    a first day. Days are the workspace's, so a date range reads whole days."""
    qs = DailyCell.objects.filter(workspace=workspace, metric__in=list(metrics))
    if journey_id is not None:
        qs = qs.filter(journey_id=journey_id)
    if filters is not None:
        qs = qs.filter(day__gte=filters.first, day__lte=filters.last)
        if filters.version:
            qs = qs.filter(version=filters.version)
    if since is not None:
        qs = qs.filter(day__gte=since)
    rows = qs.values(*by).annotate(c=Sum("count"), a=Sum("amount")).order_by()
    return {tuple(r[k] for k in by): (r["c"] or 0, r["a"] or 0) for r in rows}


def _count(sums: dict, *key) -> int:
    return sums.get(key, (0, 0))[0]


@dataclass
class Rates:
    completion: Ratio
    holdout: Ratio
    escalation: Ratio
    repeat: Ratio


def rates_of(sums: dict) -> Rates:
    """From sums keyed (metric, dim)."""
    return Rates(
        completion=Ratio(
            _count(sums, "run.completed", "treatment"), _count(sums, "run.enrolled", "treatment")
        ),
        holdout=Ratio(
            _count(sums, "run.completed", "holdout"), _count(sums, "run.enrolled", "holdout")
        ),
        escalation=Ratio(
            _count(sums, "run.escalated", "treatment"), _count(sums, "run.digital", "treatment")
        ),
        repeat=Ratio(
            sum(v[0] for k, v in sums.items() if k[0] == "contact.repeat"),
            sum(v[0] for k, v in sums.items() if k[0] == "contact.episode"),
        ),
    )


def daily_rates(
    workspace, *, days: int = 14, journey_id=None, filters=None, tz=None
) -> list[tuple[date, Rates]]:
    """The three journey-level rates per local day (cohort of the day's entries)."""
    tz = tz or ZoneInfo(workspace.timezone or "Asia/Kolkata")
    if filters is None:
        today = journey_today(workspace, tz)
        filters = Filters(today - timedelta(days=days - 1), today, None, tz)
    sums = cell_sums(
        workspace,
        RATE_METRICS,
        by=("metric", "dim", "day"),
        journey_id=journey_id,
        filters=filters,
    )
    return rates_per_day(sums, filters)


def rates_per_day(sums: dict, filters: Filters) -> list[tuple[date, Rates]]:
    """Sums keyed (metric, dim, day) as the three rates for every day of the range."""
    per_day: dict[date, dict] = defaultdict(lambda: defaultdict(lambda: (0, 0)))
    for (metric, dim, day), (count, amount) in sums.items():
        c, a = per_day[day][(metric, dim)]
        per_day[day][(metric, dim)] = (c + count, a + amount)
    out, day = [], filters.first
    while day <= filters.last:
        out.append((day, rates_of(per_day.get(day, {}))))
        day += timedelta(days=1)
    return out


# --- workspace overview ---------------------------------------------------------------------------


@dataclass
class Overview:
    active_runs: int
    messages_today: dict[str, int]
    cost_today: float
    rates: Rates
    trend: list[tuple[date, Rates]]
    failures: list[tuple[str, int]]
    blocked: list[tuple[str, int]]
    degraded: list
    journeys: list = field(default_factory=list)


def overview(workspace) -> Overview:
    tz = ZoneInfo(workspace.timezone or "Asia/Kolkata")
    today = journey_today(workspace, tz)
    open_runs = cell_sums(workspace, ["run.open"], by=("metric",))
    today_sums = cell_sums(
        workspace, ["msg.created", "msg.cost"], by=("metric", "channel", "dim"), since=today
    )
    week = cell_sums(
        workspace, ["msg.failed_reason", "msg.blocked"], since=today - timedelta(days=7)
    )
    trend = daily_rates(workspace, days=14, tz=tz)
    totals = cell_sums(
        workspace, RATE_METRICS, filters=Filters(trend[0][0], trend[-1][0], None, tz)
    )
    return Overview(
        active_runs=_count(open_runs, "run.open"),
        messages_today={
            ch: c for (m, ch, d), (c, _) in today_sums.items() if m == "msg.created" and not d
        },
        cost_today=sum(a for (m, _, d), (_, a) in today_sums.items() if m == "msg.cost" and not d)
        / MONEY_SCALE,
        rates=rates_of(totals),
        trend=trend,
        failures=_top(week, "msg.failed_reason"),
        blocked=_top(week, "msg.blocked"),
        degraded=provider_health(workspace),
        journeys=list(
            Journey.objects.filter(workspace=workspace).exclude(status="draft").order_by("name")
        ),
    )


def _top(sums: dict, metric: str, n: int = 5) -> list[tuple[str, int]]:
    rows = [(dim, c) for (m, dim), (c, _) in sums.items() if m == metric and c]
    return sorted(rows, key=lambda r: (-r[1], r[0]))[:n]


def provider_health(workspace) -> list:
    from channels_app.models.providers import ProviderAccount

    return list(
        ProviderAccount.objects.filter(workspace=workspace)
        .exclude(breaker_state="closed")
        .only("name", "kind", "breaker_state", "degraded_reason")
    )


# --- one journey ----------------------------------------------------------------------------------


def node_order(journey: Journey, version: int | None) -> list[tuple[str, str]]:
    """(node id, label) in the graph's order, from the version shown (a tiny lookup)."""
    number = version or journey.current_version
    graph = (
        JourneyVersion.objects.filter(journey=journey, number=number)
        .values_list("graph", flat=True)
        .first()
        or {}
    )
    out = []
    for node in graph.get("nodes", []) if isinstance(graph, dict) else []:
        if isinstance(node, dict) and node.get("id"):
            out.append((str(node["id"]), str(node.get("label") or node.get("kind") or node["id"])))
    return out


@dataclass
class JourneyStats:
    rates: Rates
    cost: float
    cost_per_resolution: float | None
    ttc_median: float | None
    ttc_p90: float | None
    uplift: object
    funnel: list[dict]
    mix: dict[str, dict[str, int]]
    cost_breakdown: list[tuple[str, str, float]]
    versions: list[dict]
    arms: list[dict]
    trend: list[tuple[date, Rates]]
    open_runs: int = 0
    optout: Ratio = field(default_factory=lambda: Ratio(0, 0))


JOURNEY_METRICS = (*RATE_METRICS, "run.cost", "run.ttc", "run.open", "run.sent", "run.optout")


class JourneyCells:
    """Every daily cell of one journey in the date range (all versions), read in one query and
    summed in memory by each part of the dashboard: one index range scan per page view instead
    of one per chart. Breakdown rows (provider, template, language) of messages are left out."""

    COLUMNS = ("version", "node_id", "channel", "day", "metric", "dim")
    METRICS = (*JOURNEY_METRICS, "node.reached", "node.ended", "msg.created", "msg.cost",
               "arm.enrolled", "arm.completed")  # fmt: skip

    def __init__(self, journey: Journey, filters: Filters) -> None:
        self.version = filters.version
        self.rows = list(
            DailyCell.objects.filter(
                workspace_id=journey.workspace_id, journey_id=journey.pk,
                metric__in=self.METRICS, day__gte=filters.first, day__lte=filters.last,
            )
            .filter(Q(dim="") | ~Q(metric__in=("msg.created", "msg.cost")))
            .values_list(*self.COLUMNS)
            .annotate(c=Sum("count"), a=Sum("amount"))
            .order_by()
        )  # fmt: skip

    def sums(self, metrics, by=("metric", "dim"), *, versioned: bool = True) -> dict:
        """Like ``cell_sums`` for this journey and range (``versioned``: the version filter)."""
        wanted, at = set(metrics), [self.COLUMNS.index(b) for b in by]
        out: dict[tuple, list[int]] = {}
        for row in self.rows:
            if row[4] not in wanted or (versioned and self.version and row[0] != self.version):
                continue
            key = tuple(row[i] for i in at)
            cell = out.setdefault(key, [0, 0])
            cell[0] += row[6] or 0
            cell[1] += row[7] or 0
        return {k: (c, a) for k, (c, a) in out.items()}


def journey_stats(journey: Journey, filters: Filters) -> JourneyStats:
    cells = JourneyCells(journey, filters)
    sums = cells.sums(JOURNEY_METRICS)
    rates = rates_of(sums)
    cost = (
        sum(a for (m, d), (_, a) in sums.items() if m == "run.cost" and d == "treatment")
        / MONEY_SCALE
    )
    histogram = {int(d): c for (m, d), (c, _) in sums.items() if m == "run.ttc"}
    return JourneyStats(
        rates=rates,
        cost=cost,
        cost_per_resolution=cost / rates.completion.hits if rates.completion.hits else None,
        ttc_median=percentile_from_histogram(histogram, 0.5),
        ttc_p90=percentile_from_histogram(histogram, 0.9),
        uplift=uplift(rates.completion, rates.holdout),
        funnel=journey_funnel(journey, filters, cells),
        mix=channel_mix(cells),
        cost_breakdown=cost_breakdown(cells),
        versions=version_rows(cells),
        arms=arm_rows(cells),
        trend=rates_per_day(cells.sums(RATE_METRICS, ("metric", "dim", "day")), filters),
        open_runs=sum(c for (m, _), (c, _) in sums.items() if m == "run.open"),
        optout=optout_of(sums),
    )


def optout_of(sums: dict) -> Ratio:
    """Treatment runs with an opt-out attributed to their messages / treatment runs that sent
    (docs/metrics.md, "Journey opt-out rate"), from sums keyed (metric, dim)."""
    return Ratio(_count(sums, "run.optout", "treatment"), _count(sums, "run.sent", "treatment"))


def journey_funnel(journey: Journey, filters: Filters, cells: JourneyCells) -> list[dict]:
    sums = cells.sums(["node.reached", "node.ended"], ("metric", "node_id"))
    order = node_order(journey, filters.version)
    known = {n for n, _ in order}
    order += [(n, n) for (m, n) in sorted(sums) if m == "node.reached" and n not in known]
    rows = []
    for node_id, label in order:
        reached, ended = _count(sums, "node.reached", node_id), _count(sums, "node.ended", node_id)
        rows.append(
            {
                "node": node_id,
                "label": label,
                "reached": reached,
                "ended": ended,
                "drop_off": ended / reached if reached else None,
            }
        )
    return rows


def channel_mix(cells: JourneyCells) -> dict[str, dict[str, int]]:
    sums = cells.sums(["msg.created"], ("node_id", "channel", "dim"))
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for (node, channel, dim), (count, _) in sorted(sums.items()):
        if not dim:
            out[node][channel] = count
    return dict(out)


def cost_breakdown(cells: JourneyCells) -> list[tuple[str, str, float]]:
    sums = cells.sums(["msg.cost"], ("node_id", "channel", "dim"))
    return [(n, ch, a / MONEY_SCALE) for (n, ch, d), (_, a) in sorted(sums.items()) if not d]


def version_rows(cells: JourneyCells) -> list[dict]:
    """Every version side by side (the version filter does not apply here)."""
    sums = cells.sums(JOURNEY_METRICS, ("version", "metric", "dim"), versioned=False)
    per: dict[int, dict] = defaultdict(dict)
    for (version, metric, dim), value in sums.items():
        per[version][(metric, dim)] = value
    rows = []
    for version in sorted(per):
        rates = rates_of(per[version])
        cost = per[version].get(("run.cost", "treatment"), (0, 0))[1] / MONEY_SCALE
        rows.append(
            {
                "version": version,
                "rates": rates,
                "cost": cost,
                "cpr": cost / rates.completion.hits if rates.completion.hits else None,
            }
        )
    return rows


def arm_rows(cells: JourneyCells) -> list[dict]:
    """Completion per arm of each split node, with its Wilson 95% interval; every arm after the
    first (in port order) is compared with the first: the difference with Newcombe's interval
    and a pooled two-proportion z-test."""
    sums = cells.sums(["arm.enrolled", "arm.completed"], ("node_id", "dim", "metric"))
    rows = []
    for split in sorted({n for n, _, _ in sums}):
        ports = sorted({d for n, d, _ in sums if n == split})
        ratios = {
            p: Ratio(
                _count(sums, split, p, "arm.completed"), _count(sums, split, p, "arm.enrolled")
            )
            for p in ports
        }
        base = ratios[ports[0]] if ports else None
        for port in ports:
            ratio, compared = ratios[port], port != ports[0] and base is not None
            rows.append(
                {
                    "split": split,
                    "arm": port,
                    "ratio": ratio,
                    "ci": wilson_interval(ratio),
                    "versus": ports[0] if compared else "",
                    "difference": uplift(ratio, base) if compared else None,
                    "test": two_proportion_z(ratio, base) if compared else None,
                }
            )
    return rows


# --- channels -------------------------------------------------------------------------------------

CHANNEL_STATES = ("msg.attempted", "msg.delivered", "msg.read", "msg.replied", "msg.failed")


@dataclass
class ChannelRow:
    channel: str
    breakdown: str  # "" for the channel as a whole, else provider:x / template:x / lang:x
    attempted: int = 0
    delivered: int = 0
    read: int = 0
    replied: int = 0
    failed: int = 0

    def rate(self, name: str) -> float | None:
        base = self.attempted if name in ("delivered", "failed") else self.delivered
        return getattr(self, name) / base if base else None


@dataclass
class ChannelStats:
    rows: list[ChannelRow]
    latency: list[dict]
    costs: dict[str, float]
    optouts: dict[str, tuple[int, float | None]]
    blocked: list[tuple[str, str, int]]


def channel_stats(workspace, filters: Filters) -> ChannelStats:
    others = ("lat.delivered", "lat.read", "msg.cost", "consent.withdrawn", "msg.blocked")
    every = cell_sums(  # one scan of the range for the whole page
        workspace, (*CHANNEL_STATES, *others), by=("channel", "metric", "dim"), filters=filters
    )
    rows: dict[tuple[str, str], ChannelRow] = {}
    for (channel, metric, dim), (count, _) in every.items():
        if metric in CHANNEL_STATES:
            row = rows.setdefault((channel, dim), ChannelRow(channel, dim))
            setattr(row, metric.split(".", 1)[1], count)
    extra = {k: v for k, v in every.items() if k[1] in others}
    latency = []
    for (channel, metric, dim), (count, amount) in sorted(extra.items()):
        if metric.startswith("lat."):
            latency.append(
                {
                    "channel": channel,
                    "to": metric[4:],
                    "by": dim,
                    "count": count,
                    "mean_s": amount / count if count else None,
                }
            )
    costs = {
        ch: a / MONEY_SCALE for (ch, m, d), (_, a) in extra.items() if m == "msg.cost" and not d
    }
    withdrawn: dict[str, int] = defaultdict(int)
    for (ch, m, _), (c, _) in extra.items():
        if m == "consent.withdrawn":
            withdrawn[ch] += c
    optouts = {}
    for ch, n in withdrawn.items():
        delivered = rows.get((ch, "")).delivered if (ch, "") in rows else 0
        optouts[ch] = (n, n / delivered if delivered else None)
    blocked = sorted(
        ((ch, d, c) for (ch, m, d), (c, _) in extra.items() if m == "msg.blocked"),
        key=lambda r: -r[2],
    )
    ordered = sorted(rows.values(), key=lambda r: (r.channel, r.breakdown != "", r.breakdown))
    return ChannelStats(ordered, latency, costs, optouts, blocked)
