"""Dashboards: workspace overview, one journey, channels; the drill-down list; plotly.js.

Each dashboard renders its full page, its ``body`` partial for htmx (filters and live refreshes),
or one of its tables as CSV (``?format=csv&table=<name>``). All numbers come from rollups.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from analytics import drill as drilldown
from analytics import figures, selectors
from analytics.exports import Table, channel_tables, journey_tables, overview_tables
from analytics.rollups import rollups_update
from console.views import require_perm
from journeys.models import Journey

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
DRILL_PAGE = 100


def _respond(
    request: HttpRequest, template: str, context: dict, tables: dict[str, Table], filename: str
):
    if request.GET.get("format") == "csv":
        table = tables.get(request.GET.get("table", ""))
        if table is None:
            names = ", ".join(tables)
            return HttpResponse(
                f"table: name one of {names}, e.g. ?format=csv&table={next(iter(tables))}",
                status=400,
                content_type="text/plain",
            )
        return table.csv_response(filename)
    context["tables"] = tables
    context["plotly_version"] = plotly.__version__
    if request.htmx and not request.htmx.boosted:
        return render(request, f"{template}#body", context)
    return render(request, template, context)


@require_perm("view_analytics")
def analytics_home(request: HttpRequest) -> HttpResponse:
    ov = selectors.overview(request.workspace)
    sparks = {
        attr: figures.dumps(figures.sparkline([getattr(r, attr).rate for _, r in ov.trend], color))
        for attr, _, color in figures.SERIES
    }
    context = {"ov": ov, "sparks": sparks, "query": ""}
    return _respond(request, "analytics/overview.html", context, overview_tables(ov), "overview")


@require_perm("view_analytics")
def journey_dashboard(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = get_object_or_404(Journey, pk=journey_id, workspace=request.workspace)
    filters, errors = selectors.filters_parse(request.GET, request.workspace)
    stats = selectors.journey_stats(journey, filters)
    base = reverse("analytics_journey_customers", args=[journey.pk])

    def drill(metric: str, **extra) -> str:
        return f"{base}?{filters.query(metric=metric, **extra)}"

    figs = {
        "funnel": figures.funnel(stats.funnel),
        "trend": figures.trend([d for d, _ in stats.trend], [r for _, r in stats.trend]),
        "mix": figures.channel_mix(stats.mix),
        "cost": figures.cost(stats.cost_breakdown),
        "versions": figures.versions(stats.versions),
        "uplift": figures.uplift(stats.uplift),
        "arms": figures.arms(stats.arms),
    }
    context = {
        "journey": journey,
        "filters": filters,
        "errors": errors,
        "stats": stats,
        "figs": {k: figures.dumps(v) for k, v in figs.items()},
        "query": filters.query(),
        "version_numbers": list(
            journey.versions.order_by("number").values_list("number", flat=True)
        ),
        "drill": {
            m: drill(m)
            for m in ("enrolled", "completed", "holdout", "escalated", "digital", "optout", "open")
        },
    }
    tables = journey_tables(stats, drill)
    return _respond(request, "analytics/journey.html", context, tables, f"journey-{journey.pk}")


@require_perm("view_analytics")
def channel_dashboard(request: HttpRequest) -> HttpResponse:
    filters, errors = selectors.filters_parse(request.GET, request.workspace)
    stats = selectors.channel_stats(request.workspace, filters)
    context = {
        "filters": filters,
        "errors": errors,
        "stats": stats,
        "query": filters.query(),
        "fig_rates": figures.dumps(figures.channel_rates(stats.rows)),
    }
    return _respond(request, "analytics/channels.html", context, channel_tables(stats), "channels")


@require_perm("view_analytics")
def journey_customers(request: HttpRequest, journey_id: int) -> HttpResponse:
    """The customers behind a number of the journey dashboard (runs in the same filters)."""
    journey = get_object_or_404(Journey, pk=journey_id, workspace=request.workspace)
    filters, errors = selectors.filters_parse(request.GET, request.workspace)
    metric, node = request.GET.get("metric", "enrolled"), request.GET.get("node", "")
    qs = drilldown.drill_runs(journey, filters, metric, node)
    if qs is None:
        raise Http404("metric: pick one of " + ", ".join(drilldown.DRILL_METRICS))
    table = drilldown.drill_table(qs if request.GET.get("format") == "csv" else qs[:0])
    if request.GET.get("format") == "csv":
        return table.csv_response(f"journey-{journey.pk}-{metric}")
    page = drilldown.drill_page(qs, request.GET.get("page"), DRILL_PAGE)
    context = {
        "journey": journey,
        "filters": filters,
        "errors": errors,
        "metric": metric,
        "node": node,
        "page": page,
        "rows": drilldown.drill_rows(page.object_list),
        "query": filters.query(metric=metric, node=node),
    }
    return render(request, "analytics/customers.html", context)


@require_perm("view_analytics")
@require_POST
def rollups_refresh(request: HttpRequest) -> HttpResponse:
    """Fold in what is new now (the schedule does this every second or so anyway)."""
    rollups_update(max_chunks=20)
    if request.htmx:
        return HttpResponse(
            status=204, headers={"HX-Trigger": '{"toast": {"text": "Analytics are up to date."}}'}
        )
    return redirect(request.POST.get("next") or "analytics_home")


def plotly_js(request: HttpRequest, version: str) -> FileResponse:
    """plotly.js from the installed plotly package (no CDN); the URL names the version, so it
    may be cached for a year."""
    if version != plotly.__version__:
        return redirect("analytics_plotly_js", version=plotly.__version__)
    response = FileResponse(PLOTLY_JS.open("rb"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
