"""Dashboard reads: sums over rollup cells (plus tiny lookups: journeys, versions, provider
health), turned into numbers with the formulas of ``analytics.metrics``. Nothing here scans runs,
messages or events."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Sum

from analytics.cells import MONEY_SCALE
from analytics.metrics import Ratio, percentile_from_histogram, two_proportion_z, uplift
from analytics.models import RollupCell
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


def filters_parse(params, workspace, today: date | None = None) -> tuple[Filters, dict[str, str]]:
    """Read from/to (YYYY-MM-DD) and version; on bad input keep the default and name the fix."""
    tz = ZoneInfo(workspace.timezone or "Asia/Kolkata")
    today = today or datetime.now(tz).date()
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
    """Sum count and amount of cells grouped by ``by`` (rollup rows only)."""
    qs = RollupCell.objects.filter(workspace=workspace, metric__in=list(metrics))
    if journey_id is not None:
        qs = qs.filter(journey_id=journey_id)
    if filters is not None:
        qs = qs.filter(hour__gte=filters.start, hour__lt=filters.end)
        if filters.version:
            qs = qs.filter(version=filters.version)
    if since is not None:
        qs = qs.filter(hour__gte=since)
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
        today = datetime.now(tz).date()
        filters = Filters(today - timedelta(days=days - 1), today, None, tz)
    sums = cell_sums(
        workspace,
        RATE_METRICS,
        by=("metric", "dim", "hour"),
        journey_id=journey_id,
        filters=filters,
    )
    per_day: dict[date, dict] = defaultdict(lambda: defaultdict(lambda: (0, 0)))
    for (metric, dim, hour), (count, amount) in sums.items():
        day = hour.astimezone(tz).date()
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
    today = datetime.combine(datetime.now(tz).date(), time.min, tz)
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


JOURNEY_METRICS = (*RATE_METRICS, "run.cost", "run.ttc", "run.open")


def journey_stats(journey: Journey, filters: Filters) -> JourneyStats:
    ws = journey.workspace
    sums = cell_sums(ws, JOURNEY_METRICS, journey_id=journey.pk, filters=filters)
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
        funnel=journey_funnel(journey, filters),
        mix=channel_mix(journey, filters),
        cost_breakdown=cost_breakdown(journey, filters),
        versions=version_rows(journey, filters),
        arms=arm_rows(journey, filters),
        trend=daily_rates(ws, journey_id=journey.pk, filters=filters, tz=filters.tz),
        open_runs=sum(c for (m, _), (c, _) in sums.items() if m == "run.open"),
    )


def journey_funnel(journey: Journey, filters: Filters) -> list[dict]:
    sums = cell_sums(
        journey.workspace,
        ["node.reached", "node.ended"],
        by=("metric", "node_id"),
        journey_id=journey.pk,
        filters=filters,
    )
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


def channel_mix(journey: Journey, filters: Filters) -> dict[str, dict[str, int]]:
    sums = cell_sums(
        journey.workspace,
        ["msg.created"],
        by=("node_id", "channel", "dim"),
        journey_id=journey.pk,
        filters=filters,
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for (node, channel, dim), (count, _) in sorted(sums.items()):
        if not dim:
            out[node][channel] = count
    return dict(out)


def cost_breakdown(journey: Journey, filters: Filters) -> list[tuple[str, str, float]]:
    sums = cell_sums(
        journey.workspace,
        ["msg.cost"],
        by=("node_id", "channel", "dim"),
        journey_id=journey.pk,
        filters=filters,
    )
    return [(n, ch, a / MONEY_SCALE) for (n, ch, d), (_, a) in sorted(sums.items()) if not d]


def version_rows(journey: Journey, filters: Filters) -> list[dict]:
    unversioned = Filters(filters.first, filters.last, None, filters.tz)
    sums = cell_sums(
        journey.workspace,
        JOURNEY_METRICS,
        by=("version", "metric", "dim"),
        journey_id=journey.pk,
        filters=unversioned,
    )
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


def arm_rows(journey: Journey, filters: Filters) -> list[dict]:
    sums = cell_sums(
        journey.workspace,
        ["arm.enrolled", "arm.completed"],
        by=("node_id", "dim", "metric"),
        journey_id=journey.pk,
        filters=filters,
    )
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
            test = two_proportion_z(ratios[port], base) if port != ports[0] and base else None
            rows.append({"split": split, "arm": port, "ratio": ratios[port], "test": test})
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
    sums = cell_sums(workspace, CHANNEL_STATES, by=("channel", "dim", "metric"), filters=filters)
    rows: dict[tuple[str, str], ChannelRow] = {}
    for (channel, dim, metric), (count, _) in sums.items():
        row = rows.setdefault((channel, dim), ChannelRow(channel, dim))
        setattr(row, metric.split(".", 1)[1], count)
    extra = cell_sums(
        workspace,
        ["lat.delivered", "lat.read", "msg.cost", "consent.withdrawn", "msg.blocked"],
        by=("channel", "metric", "dim"),
        filters=filters,
    )
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
