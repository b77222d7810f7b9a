"""The builder's live overlay, dry-run forecast and journey settings. Short views: parse, call
one service or selector, render; every htmx endpoint also renders the full page."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from console.views import require_perm
from journeys.builder import forecast as forecasting
from journeys.builder import selectors, services
from journeys.builder.journey_settings import (
    settings_check,
    settings_initial,
    settings_parse,
    settings_sections,
)
from journeys.builder.overlay import overlay_counts, waiting_at_node
from journeys.builder.views import _journey, builder_context
from journeys.clock import real_now
from journeys.services import JourneyStateError

PAGE = "journeys/builder.html"
SETTING_PREFIXES = ("goal", "entry", "holdout_percent", "priority", "suppresses", "exit_")


def _page(request, journey, context, part: str, status: int = 200, **extra) -> HttpResponse:
    if request.htmx:
        return render(request, f"{PAGE}#{part}", context, status=status)
    page = builder_context(request, journey) | context | extra
    return render(request, PAGE, page, status=status)


# --- live overlay ------------------------------------------------------------------------------


@require_GET
@require_perm()
def builder_live(request: HttpRequest, journey_id: int) -> HttpResponse:
    """Per-node counts of the published journey: JSON for the canvas (``?format=json``), else
    the live summary panel."""
    journey = _journey(request, journey_id)
    counts = overlay_counts(journey=journey)
    if request.GET.get("format") == "json":
        return JsonResponse(counts)
    return _page(request, journey, {"journey": journey, "live": counts}, "live_summary")


@require_GET
@require_perm()
def builder_waiting(request: HttpRequest, journey_id: int, node_id: str) -> HttpResponse:
    """Who waits at ``node_id`` now, and why (their run's last step and what the node holds
    them for), with links to the customers."""
    journey = _journey(request, journey_id)
    rows, total = waiting_at_node(journey=journey, node_id=node_id)
    node = next((n for n in (journey.draft or {}).get("nodes", []) if n.get("id") == node_id), {})
    context = {
        "journey": journey,
        "waiting_node": node_id,
        "waiting_label": node.get("label") or node_id,
        "waiting": rows,
        "waiting_total": total,
    }
    return _page(request, journey, context, "live_node", open_tab="live")


# --- forecast ----------------------------------------------------------------------------------


def _forecast_days(raw: str | None) -> tuple[int, str]:
    if raw in (None, ""):
        return forecasting.DAYS_DEFAULT, ""
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if not 1 <= days <= forecasting.DAYS_MAX:
        return forecasting.DAYS_DEFAULT, (
            f"Days: choose a whole number from 1 to {forecasting.DAYS_MAX}, not {raw!r}"
        )
    return days, ""


@require_GET
@require_perm()
def builder_forecast(request: HttpRequest, journey_id: int) -> HttpResponse:
    """GET without ``days``: the form. With ``days`` (1-30) and ``assume``: replay the stored
    events of those days through the draft and show what would happen. Writes nothing."""
    journey = _journey(request, journey_id)
    days, error = _forecast_days(request.GET.get("days"))
    assume = request.GET.get("assume") or "read"
    context = {
        "journey": journey,
        "forecast_days": days,
        "forecast_assume": assume,
        "forecast_assumptions": list(forecasting.ASSUMPTIONS.items()),
        "forecast_limits": (forecasting.MAX_CUSTOMERS, forecasting.MAX_EVENTS),
        "forecast_error": error,
    }
    status = 400 if error else 200
    if "days" in request.GET and not error:
        try:
            context |= _forecast_run(journey, days, assume)
        except forecasting.ForecastError as exc:
            context["forecast_error"], status = str(exc), 422
    return _page(request, journey, context, "forecast", status, open_tab="forecast")


def _forecast_run(journey, days: int, assume: str) -> dict:
    version = selectors.graph_parse(journey.draft or {})
    if version is None:
        raise forecasting.ForecastError("The draft does not parse; fix the Problems first.")
    result = forecasting.journey_forecast(
        workspace=journey.workspace,
        version=version,
        facts=forecasting.policy_facts_build(workspace=journey.workspace),
        end=real_now(),
        days=days,
        assume=assume,
    )
    rows = [
        {"id": n.id, "label": n.label or n.id, "kind": n.kind, "reached": result.reached[n.id]}
        for n in version.nodes
    ]
    return {
        "forecast": result,
        "forecast_nodes": rows,
        "forecast_messages": sorted(result.messages.items()),  # a Counter answers 0 to .items
        "forecast_json": dict(result.reached),
    }


# --- journey settings --------------------------------------------------------------------------


def _settings_context(request, journey, values, errors=None, problems=None, saved=False) -> dict:
    nodes = [(n["id"], n.get("label") or n["id"]) for n in (journey.draft or {}).get("nodes", [])]
    not_saved = bool(errors)
    errors = dict(errors or {})
    for problem in problems or []:  # the engine's checks of the saved settings, by field
        errors.setdefault(problem.field, []).append(problem.message)
    return {
        "journey": journey,
        "js": values,
        "js_sections": settings_sections(values, errors, nodes),
        "js_not_saved": not_saved,
        "js_general": errors.get("__all__", []),
        "js_problems": problems or [],
        "js_saved": saved,
        "can_edit": "edit_journeys" in request.perms,
        "js_event_names": selectors.event_names(workspace=journey.workspace),
        "revision": journey.draft_revision,
    }


@require_http_methods(["GET", "POST"])
@require_perm()
def builder_journey_settings(request: HttpRequest, journey_id: int) -> HttpResponse:
    """GET: the journey settings form of the draft; POST: save them into the draft (400 with
    the fields named when they cannot be read, 409 when the draft changed since)."""
    journey = _journey(request, journey_id)
    if request.method == "GET":
        context = _settings_context(request, journey, settings_initial(journey.draft or {}))
        return _page(request, journey, context, "journey_settings", open_tab="settings")
    if "edit_journeys" not in request.perms:
        return HttpResponse("Your role cannot edit journeys.", status=403)
    return _settings_save(request, journey)


def _settings_save(request: HttpRequest, journey) -> HttpResponse:
    node_ids = {n.get("id") for n in (journey.draft or {}).get("nodes", [])}
    settings, errors = settings_parse(request.POST, node_ids=node_ids)
    merged, format_errors = settings_check(journey.draft or {}, settings)
    errors = errors or format_errors
    if errors:
        values = settings_initial(merged)
        context = _settings_context(request, journey, values, errors)
        return _page(request, journey, context, "journey_settings", 400, open_tab="settings")
    revision = request.POST.get("revision", "")
    if not revision.isdigit():
        return HttpResponse("revision: missing; reload the page and try again", status=409)
    try:
        result = services.builder_draft_save(
            journey=journey, graph=merged, revision=int(revision), actor=request.user
        )
    except JourneyStateError as exc:
        return HttpResponse(str(exc), status=409)
    except services.DraftRefused as exc:
        context = _settings_context(
            request, journey, settings_initial(merged), {"__all__": [str(exc)]}
        )
        return _page(request, journey, context, "journey_settings", 400, open_tab="settings")
    problems = [
        p
        for p in result.problems
        if p.node_id is None and (p.field or "").startswith(SETTING_PREFIXES)
    ]
    values = settings_initial(merged)
    context = _settings_context(request, result.journey, values, problems=problems, saved=True)
    response = _page(request, result.journey, context, "journey_settings", open_tab="settings")
    trigger = {"settings": settings} | result.as_json()
    response["HX-Trigger"] = json.dumps({"builder:settings-saved": trigger})
    return response
