"""Plotly figures as plain JSON-ready dicts (data + layout), drawn in the browser by the
plotly.js that ships in the plotly Python package (served offline by ``views.plotly_js``)."""

from __future__ import annotations

import json

COLORS = {"sms": "#2f6fdf", "whatsapp": "#1f9d55", "voice": "#c2410c"}
SERIES = (
    ("completion", "Completion", "#2f6fdf"),
    ("escalation", "Escalation", "#c2410c"),
    ("repeat", "Repeat contact", "#7c3aed"),
)


def _layout(**extra) -> dict:
    layout = {
        "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
        "height": 240,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"size": 11},
        "legend": {"orientation": "h", "y": -0.2},
    }
    layout.update(extra)
    return layout


def dumps(figure: dict) -> str:
    return json.dumps(figure, separators=(",", ":"), default=str)


def sparkline(values: list[float | None], color: str = "#2f6fdf") -> dict:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "y": values,
                "line": {"color": color, "width": 2},
                "connectgaps": True,
                "hoverinfo": "skip",
            }
        ],
        "layout": _layout(
            height=40,
            margin={"l": 0, "r": 0, "t": 2, "b": 2},
            showlegend=False,
            xaxis={"visible": False},
            yaxis={"visible": False, "rangemode": "tozero"},
        ),
        "static": True,
    }


def trend(days: list, rates: list) -> dict:
    x = [d.isoformat() for d in days]
    data = []
    for attr, label, color in SERIES:
        y = [
            None if getattr(r, attr).rate is None else round(100 * getattr(r, attr).rate, 2)
            for r in rates
        ]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label,
                "x": x,
                "y": y,
                "line": {"color": color},
                "connectgaps": True,
            }
        )
    return {"data": data, "layout": _layout(yaxis={"ticksuffix": "%", "rangemode": "tozero"})}


def funnel(rows: list[dict]) -> dict:
    labels = [f"{r['label']} ({r['node']})" if r["label"] != r["node"] else r["node"] for r in rows]
    return {
        "data": [
            {
                "type": "funnel",
                "y": labels,
                "x": [r["reached"] for r in rows],
                "textinfo": "value+percent initial",
                "marker": {"color": "#2f6fdf"},
            }
        ],
        "layout": _layout(
            height=max(200, 34 * len(rows) + 40), margin={"l": 140, "r": 10, "t": 10, "b": 20}
        ),
    }


def channel_mix(mix: dict[str, dict[str, int]]) -> dict:
    nodes = list(mix)
    data = [
        {
            "type": "bar",
            "name": ch,
            "x": nodes,
            "y": [mix[n].get(ch, 0) for n in nodes],
            "marker": {"color": COLORS[ch]},
        }
        for ch in ("whatsapp", "sms", "voice")
    ]
    return {"data": data, "layout": _layout(barmode="stack")}


def cost(breakdown: list[tuple[str, str, float]]) -> dict:
    per: dict[str, float] = {}
    for _, ch, amount in breakdown:
        per[ch] = per.get(ch, 0.0) + amount
    return {
        "data": [
            {
                "type": "bar",
                "x": list(per),
                "y": [round(v, 2) for v in per.values()],
                "marker": {"color": [COLORS.get(c, "#888") for c in per]},
            }
        ],
        "layout": _layout(yaxis={"tickprefix": "₹"}),
    }


def versions(rows: list[dict]) -> dict:
    x = [f"v{r['version']}" for r in rows]
    data = []
    for attr, label, color in SERIES:
        y = [
            None
            if getattr(r["rates"], attr).rate is None
            else round(100 * getattr(r["rates"], attr).rate, 2)
            for r in rows
        ]
        data.append({"type": "bar", "name": label, "x": x, "y": y, "marker": {"color": color}})
    return {"data": data, "layout": _layout(barmode="group", yaxis={"ticksuffix": "%"})}


def uplift(result) -> dict:
    if result is None:
        return {"data": [], "layout": _layout(height=120)}
    d = 100 * result.difference
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": [round(d, 2)],
                "y": ["uplift"],
                "marker": {"size": 12, "color": "#2f6fdf"},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [round(100 * result.high - d, 2)],
                    "arrayminus": [round(d - 100 * result.low, 2)],
                },
            }
        ],
        "layout": _layout(
            height=120, xaxis={"ticksuffix": " pts", "zeroline": True, "zerolinewidth": 2}
        ),
    }


def channel_rates(rows) -> dict:
    whole = [r for r in rows if not r.breakdown]
    x = [r.channel for r in whole]
    data = []
    for name, color in (
        ("delivered", "#2f6fdf"),
        ("read", "#1f9d55"),
        ("replied", "#7c3aed"),
        ("failed", "#c2410c"),
    ):
        y = [None if r.rate(name) is None else round(100 * r.rate(name), 2) for r in whole]
        data.append({"type": "bar", "name": name, "x": x, "y": y, "marker": {"color": color}})
    return {"data": data, "layout": _layout(barmode="group", yaxis={"ticksuffix": "%"})}


def arms(rows: list[dict]) -> dict:
    """Completion per A/B arm with its 95% interval, one colour per split node."""
    palette = ("#2f6fdf", "#1f9d55", "#7c3aed", "#c2410c")
    data = []
    for i, split in enumerate(dict.fromkeys(r["split"] for r in rows)):
        mine = [r for r in rows if r["split"] == split and r["ratio"].total]
        rates = [100 * r["ratio"].rate for r in mine]
        data.append(
            {
                "type": "bar",
                "name": split,
                "x": [f"{split}: {r['arm']}" for r in mine],
                "y": [round(v, 2) for v in rates],
                "marker": {"color": palette[i % len(palette)]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        round(100 * r["ci"][1] - v, 2) for r, v in zip(mine, rates, strict=True)
                    ],
                    "arrayminus": [
                        round(v - 100 * r["ci"][0], 2) for r, v in zip(mine, rates, strict=True)
                    ],
                },
            }
        )
    return {"data": data, "layout": _layout(yaxis={"ticksuffix": "%", "rangemode": "tozero"})}
