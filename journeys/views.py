"""Console screens of the engine: journeys list, journey detail with controls and live counters,
a run's explanation, the gallery, engine settings (clock, traffic) and the customer page's panel.
Every htmx endpoint also renders the full page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from console.models import Customer
from console.views import require_perm
from journeys import selectors
from journeys.clock import clock_now, clock_speed, clock_speed_set
from journeys.engine import node_summary
from journeys.engine.seeds import SEED_JOURNEYS
from journeys.models import EngineSettings, Journey, Run
from journeys.services import (
    JourneyInvalid,
    JourneyStateError,
    journey_create,
    journey_pause,
    journey_publish,
    journey_resume,
    journey_stop,
)
from journeys.services.stepping import graph_of


@require_perm()
def journey_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    context = {
        "rows": selectors.journey_list(workspace=workspace),
        "journey_now": clock_now(workspace),
        "speed": clock_speed(workspace),
        "engine": selectors.engine_settings(workspace),
        "gallery": [(slug, name) for slug, (name, _) in SEED_JOURNEYS.items()],
        "can_edit": "edit_journeys" in request.perms,
        "can_publish": "publish_journeys" in request.perms,
    }
    if request.htmx and request.htmx.target == "journey-rows":
        return render(request, "journeys/list.html#rows", context)
    return render(request, "journeys/list.html", context)


def _nodes(journey: Journey) -> list[dict]:
    version = journey.versions.filter(number=journey.current_version).first()
    if version is None:
        return []
    graph = graph_of(version.pk, version.graph)
    counters = selectors.node_counters(journey=journey)
    rows = []
    for node in graph.nodes:
        try:
            summary = node_summary(node)
        except Exception:  # a summary is a nicety; never break the page on one node
            summary = ""
        edges = [(e.port, e.to) for e in graph.edges if e.source == node.id]
        rows.append(
            {
                "node": node,
                "summary": summary,
                "edges": edges,
                "counts": counters.get(node.id, {"entered": 0, "here": 0, "ports": {}}),
            }
        )
    return rows


def _detail_context(request: HttpRequest, journey: Journey) -> dict:
    now = clock_now(journey.workspace)
    return {
        "journey": journey,
        "versions": selectors.journey_versions(journey=journey),
        "nodes": _nodes(journey),
        "stats": _stats(selectors.journey_totals(journey=journey)),
        "open_runs": selectors.runs_open_count(journey=journey),
        "stuck": selectors.stuck_runs(journey=journey, now=now),
        "enrolment": selectors.enrolment_latest(journey=journey),
        "recent_runs": journey.runs.select_related("customer").order_by("-id")[:15],
        "journey_now": now,
        "can_edit": "edit_journeys" in request.perms,
        "can_publish": "publish_journeys" in request.perms,
    }


def _stats(totals: dict[str, int]) -> dict[str, int]:
    def both(metric: str) -> int:
        return totals.get(metric, 0) + totals.get(f"holdout:{metric}", 0)

    return {
        "enrolled": totals.get("enrolled", 0),
        "holdout": totals.get("holdout:enrolled", 0),
        "completed": both("ended:completed"),
        "exited": both("ended:exited"),
        "failed": both("ended:failed"),
    }


@require_perm()
def journey_detail(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = get_object_or_404(Journey, pk=journey_id, workspace=request.workspace)
    context = _detail_context(request, journey)
    if request.htmx and request.htmx.target == "journey-live":
        return render(request, "journeys/detail.html#live", context)
    return render(request, "journeys/detail.html", context)


CONTROLS = {
    "publish": lambda j, user, note: journey_publish(journey=j, actor=user, note=note),
    "pause": lambda j, user, note: journey_pause(journey=j, actor=user),
    "resume": lambda j, user, note: journey_resume(journey=j, actor=user),
    "stop": lambda j, user, note: journey_stop(
        journey=j, actor=user, reason=note or "stopped by an operator"
    ),
}  # fmt: skip


@require_POST
@require_perm("publish_journeys")
def journey_control(request: HttpRequest, journey_id: int, action: str) -> HttpResponse:
    journey = get_object_or_404(Journey, pk=journey_id, workspace=request.workspace)
    if action not in CONTROLS:
        return HttpResponse(f"Unknown action {action!r}.", status=404)
    try:
        CONTROLS[action](journey, request.user, request.POST.get("note", "").strip())
        messages.success(request, f"{action.title()}: done.")
    except JourneyInvalid as exc:
        context = _detail_context(request, journey) | {"problems": exc.problems}
        return render(request, "journeys/detail.html", context, status=400)
    except JourneyStateError as exc:
        messages.error(request, str(exc))
    return redirect("journey_detail", journey_id=journey.pk)


@require_POST
@require_perm("edit_journeys")
def gallery_use(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a draft from a seed journey of the gallery."""
    if slug not in SEED_JOURNEYS:
        return HttpResponse("No such gallery journey.", status=404)
    name, build = SEED_JOURNEYS[slug]
    journey = journey_create(
        workspace=request.workspace, name=f"{name} (copy)", graph=build(), actor=request.user,
        gallery_slug="",
    )  # fmt: skip
    messages.success(request, f"Draft '{journey.name}' created from the gallery.")
    return redirect("journey_detail", journey_id=journey.pk)


@require_POST
@require_perm("manage_settings")
def engine_settings_edit(request: HttpRequest) -> HttpResponse:
    """Clock speed and the demo traffic generator of this workspace."""
    row = selectors.engine_settings(request.workspace)
    try:
        speed = float(request.POST.get("clock_speed") or row.clock_speed)
        clock_speed_set(workspace=request.workspace, factor=speed)
        rate = int(request.POST.get("traffic_per_minute") or row.traffic_per_minute)
        if not 1 <= rate <= 600:
            raise ValueError("traffic_per_minute: use 1 to 600 a minute")
    except ValueError as exc:
        messages.error(request, f"Engine settings: {exc}")
        return redirect("journeys")
    EngineSettings.objects.filter(pk=row.pk).update(
        traffic_enabled=request.POST.get("traffic_enabled") == "on", traffic_per_minute=rate
    )
    messages.success(request, "Engine settings saved.")
    return redirect("journeys")


@require_perm()
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """Why is this customer here, and why didn't they get X: the path with reasons and the
    policy decision of each message."""
    run = get_object_or_404(
        Run.objects.select_related("journey", "customer", "version"),
        pk=run_id, workspace=request.workspace,
    )  # fmt: skip
    context = {
        "run": run,
        "steps": selectors.run_steps(run=run),
        "messages_sent": selectors.run_messages(run=run),
        "journey_now": clock_now(request.workspace),
    }
    return render(request, "journeys/run.html", context)


def customer_runs_panel(request: HttpRequest, customer: Customer) -> dict:
    """The customer page's journeys panel (registered into console.views.CUSTOMER_PANELS)."""
    runs = selectors.runs_of_customer(customer=customer, limit=20)
    html = render_to_string("journeys/customer_panel.html", {"runs": runs}, request=request)
    return {"title": "Journeys", "html": mark_safe(html)}  # noqa: S308 - our own template
