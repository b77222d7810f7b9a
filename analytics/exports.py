"""Every dashboard table as a ``Table`` (rendered as HTML or exported as CSV), and the CSV writer
that defends spreadsheets against formula injection.

Rule (docs/metrics.md): a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading single quote. Numbers stay numbers. A phone number such as +919812345678 is
text, so it is written ``'+919812345678``: spreadsheets then show it whole, as text, instead of
evaluating it (Excel would show 9.19812E+11).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.http import HttpResponse

from analytics.metrics import Ratio

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> object:
    """One CSV cell, safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


@dataclass
class Table:
    name: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    # Optional per-row drill-down links (same length as rows), shown in HTML only.
    links: list[str | None] = field(default_factory=list)
    link_col: int = 1  # the number that links to its customers

    @property
    def html_rows(self) -> list[tuple[list, str | None]]:
        links = self.links + [None] * (len(self.rows) - len(self.links))
        return list(zip(self.rows, links, strict=True))

    def csv_response(self, filename: str) -> HttpResponse:
        response = HttpResponse(
            csv_text(self.headers, self.rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}-{self.name}.csv"'
        return response


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def points(value: float) -> float:
    """A difference of two rates in percentage points (a number, so a CSV keeps it numeric)."""
    return round(100 * value, 1)


def interval(bounds: tuple[float, float] | None) -> str:
    return "—" if bounds is None else f"{pct(bounds[0])} to {pct(bounds[1])}"


def ratio_cells(r: Ratio) -> list:
    return [r.hits, r.total, pct(r.rate)]


def secs(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 90:
        return f"{value:.0f} s"
    if value < 5400:
        return f"{value / 60:.0f} min"
    if value < 172800:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


# --- tables per dashboard -------------------------------------------------------------------


def overview_tables(ov) -> dict[str, Table]:
    rates = Table("rates", "Journey-level rates, last 14 days", ["metric", "hits", "of", "rate"])
    for label, r in (
        ("Completion (treatment)", ov.rates.completion),
        ("Completion (holdout)", ov.rates.holdout),
        ("Escalation to voice", ov.rates.escalation),
        ("Repeat contact", ov.rates.repeat),
    ):
        rates.rows.append([label, *ratio_cells(r)])
    today = Table(
        "messages_today",
        "Messages today by channel",
        ["channel", "messages"],
        [[ch, n] for ch, n in sorted(ov.messages_today.items())],
    )
    failures = Table(
        "failures",
        "Top failure reasons, last 7 days",
        ["reason", "messages"],
        [list(r) for r in ov.failures],
    )
    blocked = Table(
        "blocked",
        "Blocked by policy, last 7 days",
        ["reason", "messages"],
        [list(r) for r in ov.blocked],
    )
    health = Table(
        "providers",
        "Degraded provider accounts",
        ["provider", "kind", "state", "reason"],
        [[p.name, p.kind, p.get_breaker_state_display(), p.degraded_reason] for p in ov.degraded],
    )
    return {t.name: t for t in (rates, today, failures, blocked, health)}


def journey_tables(stats, drill) -> dict[str, Table]:
    """``drill(metric, **params)`` returns the customers link for a number."""
    r = stats.rates
    kpis = Table("rates", "Journey-level rates", ["metric", "hits", "of", "rate"])
    for label, ratio, metric in (
        ("Completion (treatment)", r.completion, "completed"),
        ("Completion (holdout)", r.holdout, "holdout"),
        ("Escalation to voice", r.escalation, "escalated"),
        ("Repeat contact", r.repeat, None),
        ("Opt-outs (treatment runs that sent)", stats.optout, "optout"),
    ):
        kpis.rows.append([label, *ratio_cells(ratio)])
        kpis.links.append(drill(metric) if metric else None)
    funnel = Table(
        "funnel",
        "Funnel by node",
        ["node", "label", "reached", "ended here", "drop-off"],
        link_col=3,
    )
    for row in stats.funnel:
        funnel.rows.append(
            [row["node"], row["label"], row["reached"], row["ended"], pct(row["drop_off"])]
        )
        funnel.links.append(drill("ended_at", node=row["node"]))
    mix = Table(
        "mix",
        "Channel mix per step",
        ["node", "sms", "whatsapp", "voice"],
        [
            [n, c.get("sms", 0), c.get("whatsapp", 0), c.get("voice", 0)]
            for n, c in stats.mix.items()
        ],
    )
    cost = Table(
        "cost",
        "Cost breakdown (₹)",
        ["node", "channel", "cost"],
        [[n, ch, round(a, 4)] for n, ch, a in stats.cost_breakdown],
    )
    versions = Table(
        "versions",
        "Version comparison",
        [
            "version",
            "enrolled",
            "completion",
            "holdout completion",
            "escalation",
            "repeat contact",
            "cost (₹)",
            "cost per resolution (₹)",
        ],
    )
    for v in stats.versions:
        vr = v["rates"]
        versions.rows.append(
            [
                v["version"],
                vr.completion.total,
                pct(vr.completion.rate),
                pct(vr.holdout.rate),
                pct(vr.escalation.rate),
                pct(vr.repeat.rate),
                round(v["cost"], 2),
                None if v["cpr"] is None else round(v["cpr"], 2),
            ]
        )
    arms = Table(
        "arms",
        "A/B arms: completion per arm",
        ["split", "arm", "completed", "of", "rate", "95% CI", "versus", "difference (pts)",
         "difference low (pts)", "difference high (pts)", "z", "p", "significant"],
    )  # fmt: skip
    for a in stats.arms:
        t, d = a["test"], a["difference"]
        arms.rows.append(
            [
                a["split"],
                a["arm"],
                *ratio_cells(a["ratio"]),
                interval(a["ci"]),
                a["versus"],
                *(
                    ["", "", ""]
                    if d is None
                    else [points(d.difference), points(d.low), points(d.high)]
                ),
                None if t is None else round(t.z, 3),
                None if t is None else round(t.p_value, 4),
                None if t is None else t.significant,
            ]
        )
    return {t.name: t for t in (kpis, funnel, mix, cost, versions, arms)}


def channel_tables(stats) -> dict[str, Table]:
    rates = Table(
        "rates",
        "Delivery, read and reply rates",
        [
            "channel",
            "by",
            "attempted",
            "delivered",
            "delivery rate",
            "read rate",
            "reply rate",
            "failure rate",
        ],
    )
    for row in stats.rows:
        rates.rows.append(
            [
                row.channel,
                row.breakdown or "all",
                row.attempted,
                row.delivered,
                pct(row.rate("delivered")),
                pct(row.rate("read")),
                pct(row.rate("replied")),
                pct(row.rate("failed")),
            ]
        )
    latency = Table(
        "latency",
        "Latency from sent",
        ["channel", "to", "by", "messages", "mean"],
        [
            [x["channel"], x["to"], x["by"] or "all", x["count"], secs(x["mean_s"])]
            for x in stats.latency
        ],
    )
    cost = Table(
        "cost",
        "Cost per channel (₹)",
        ["channel", "cost"],
        [[ch, round(v, 4)] for ch, v in sorted(stats.costs.items())],
    )
    optout = Table(
        "optouts",
        "Opt-outs",
        ["channel", "withdrawals", "opt-out rate"],
        [[ch, n, pct(r)] for ch, (n, r) in sorted(stats.optouts.items())],
    )
    blocked = Table(
        "blocked",
        "Blocked by policy",
        ["channel", "reason", "messages"],
        [list(b) for b in stats.blocked],
    )
    return {t.name: t for t in (rates, latency, cost, optout, blocked)}
