"""The builder's screens: canvas page, autosave, inspector, template preview, publication and
its requests, controls, duplicate, gallery, versions with diff, test runs. Short views: parse,
call one service, render; every htmx endpoint also renders the full page."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.views import require_perm
from journeys.builder import selectors, services
from journeys.builder.forecast import ASSUMPTIONS, DAYS_DEFAULT
from journeys.builder.inspector import inspector_context, inspector_parse
from journeys.builder.models import PublishRequest
from journeys.builder.overlay import overlay_counts
from journeys.models import Journey
from journeys.services import JourneyInvalid, JourneyStateError

SAVE_BODY_LIMIT = 5_000_000


def _journey(request: HttpRequest, journey_id: int) -> Journey:
    return get_object_or_404(Journey, pk=journey_id, workspace=request.workspace)


def _api_error(status: int, code: str, detail: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail, "fields": fields or {}}, status=status)


def builder_context(request: HttpRequest, journey: Journey) -> dict:
    problems = selectors.builder_problems(workspace=journey.workspace, graph=journey.draft)
    perms = request.perms
    live = overlay_counts(journey=journey) if journey.current_version else None
    data = {
        "journey": journey.pk,
        "revision": journey.draft_revision,
        "graph": journey.draft or {"format": 1, "nodes": [], "edges": []},
        "palette": selectors.palette(),
        "nodes": selectors.node_infos(journey.draft or {}, problems),
        "problems": selectors.problems_json(problems),
        "can_edit": "edit_journeys" in perms,
        "urls": {
            "save": reverse("builder_save", args=[journey.pk]),
            "node": reverse("builder_node", args=[journey.pk, "__node__"]),
            "test_run": reverse("builder_test_run", args=[journey.pk]),
            "live": reverse("builder_live", args=[journey.pk]) + "?format=json",
            "waiting": reverse("builder_waiting", args=[journey.pk, "__node__"]),
        },
        "live": live,
        "live_topic": f"journey:{journey.pk}" if live else None,
    }
    settings = selectors.builder_settings(workspace=journey.workspace)
    return {
        "journey": journey,
        "builder_data": data,
        "problems": problems,
        "can_edit": "edit_journeys" in perms,
        "can_publish": "publish_journeys" in perms,
        "require_approval": settings.require_approval,
        "requests": selectors.publish_requests(journey=journey),
        "pending": PublishRequest.objects.filter(journey=journey, status="pending").first(),
        "live": live,
        "forecast_days": DAYS_DEFAULT,
        "forecast_assume": "read",
        "forecast_assumptions": list(ASSUMPTIONS.items()),
    }


@require_GET
@require_perm()
def builder_page(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    return render(request, "journeys/builder.html", builder_context(request, journey))


@require_POST
@require_perm("edit_journeys")
def builder_save(request: HttpRequest, journey_id: int) -> JsonResponse:
    """Autosave: {"graph": {...}, "revision": n} -> 200 with the new revision, problems and
    per-node facts; 409 when someone saved since ``revision``; 400 when it is not a graph."""
    journey = _journey(request, journey_id)
    if len(request.body) > SAVE_BODY_LIMIT:
        return _api_error(413, "too_large", "graph: the journey is too large to save")
    try:
        body = json.loads(request.body)
        graph, revision = body["graph"], int(body["revision"])
        assert isinstance(graph, dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        return _api_error(400, "bad_request", 'send {"graph": {...}, "revision": <number>}')
    try:
        result = services.builder_draft_save(
            journey=journey, graph=graph, revision=revision, actor=request.user
        )
    except JourneyStateError as exc:
        return _api_error(409, "conflict", str(exc), {"revision": [str(exc)]})
    except services.DraftRefused as exc:
        fields = {p.field or "graph": [p.message] for p in exc.problems}
        return _api_error(400, "invalid_graph", str(exc), fields)
    return JsonResponse(result.as_json())


@require_http_methods(["GET", "POST"])
@require_perm()
def builder_node(request: HttpRequest, journey_id: int, node_id: str) -> HttpResponse:
    """The inspector of one node: GET shows the form, POST saves the node into the draft."""
    journey = _journey(request, journey_id)
    status, trigger = 200, None
    if request.method == "POST":
        if "edit_journeys" not in request.perms:
            return HttpResponse("Your role cannot edit journeys.", status=403)
        outcome = inspector_parse(request, journey, node_id)
        if outcome.conflict:
            return HttpResponse(outcome.conflict, status=409)
        journey, status, trigger = outcome.journey, outcome.status, outcome.trigger
        context = inspector_context(request, journey, node_id, posted=outcome)
    else:
        context = inspector_context(request, journey, node_id)
    if context is None:
        return HttpResponse(f"No node {node_id!r} in this draft.", status=404)
    if request.htmx:
        response = render(request, "journeys/builder.html#inspector", context, status=status)
    else:
        page = builder_context(request, journey) | context
        response = render(request, "journeys/builder.html", page, status=status)
    if trigger:
        response["HX-Trigger"] = json.dumps({"builder:node-saved": trigger})
    return response


@require_GET
@require_perm()
def builder_preview(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    key = request.GET.get("template") or request.GET.get("cfg.template") or ""
    rendered = selectors.template_preview_for(workspace=journey.workspace, key=key)
    context = {"journey": journey, "preview": rendered, "preview_key": key}
    if request.htmx:
        return render(request, "journeys/builder.html#preview", context)
    return render(request, "journeys/builder.html", builder_context(request, journey) | context)


def _back(journey: Journey) -> HttpResponse:
    return redirect("builder_page", journey_id=journey.pk)


def _revision(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("revision", ""))
    except ValueError:
        return -1


@require_POST
@require_perm("publish_journeys")
def builder_publish(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    note = request.POST.get("note", "").strip()
    try:
        version = services.builder_publish(
            journey=journey, revision=_revision(request), actor=request.user, note=note
        )
        messages.success(request, f"Published version {version.number}.")
    except JourneyInvalid as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        messages.error(
            request, f"Not published: fix the {len(errors)} errors in the Problems panel."
        )
    except JourneyStateError as exc:
        messages.error(request, str(exc))
    return _back(journey)


@require_POST
@require_perm("edit_journeys")
def builder_request(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    try:
        services.publish_request_create(
            journey=journey, actor=request.user, note=request.POST.get("note", "").strip()
        )
        messages.success(request, "Publication requested; operations will approve or reject it.")
    except JourneyInvalid as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        messages.error(
            request, f"Not requested: fix the {len(errors)} errors in the Problems panel."
        )
    except JourneyStateError as exc:
        messages.error(request, str(exc))
    return _back(journey)


@require_POST
@require_perm("publish_journeys")
def builder_decide(request: HttpRequest, journey_id: int, request_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    item = get_object_or_404(PublishRequest, pk=request_id, journey=journey)
    approve = request.POST.get("decision") == "approve"
    try:
        item = services.publish_request_decide(
            request=item,
            actor=request.user,
            approve=approve,
            comment=request.POST.get("comment", ""),
        )
        messages.success(request, f"Request {item.status}.")
    except (JourneyStateError, JourneyInvalid, ValueError) as exc:
        messages.error(request, str(exc))
    return _back(journey)


@require_POST
@require_perm("publish_journeys")
def builder_control(request: HttpRequest, journey_id: int, action: str) -> HttpResponse:
    from journeys.services import journey_pause, journey_resume, journey_stop

    journey = _journey(request, journey_id)
    controls = {
        "pause": lambda: journey_pause(journey=journey, actor=request.user),
        "resume": lambda: journey_resume(journey=journey, actor=request.user),
        "stop": lambda: journey_stop(
            journey=journey,
            actor=request.user,
            reason=request.POST.get("note", "").strip() or "stopped",
        ),
    }
    if action not in controls:
        return HttpResponse(f"Unknown action {action!r}; use pause, resume or stop.", status=404)
    try:
        controls[action]()
        messages.success(request, f"{action.title()}: done.")
    except JourneyStateError as exc:
        messages.error(request, str(exc))
    return _back(journey)


@require_POST
@require_perm("edit_journeys")
def builder_duplicate(request: HttpRequest, journey_id: int) -> HttpResponse:
    copy = services.builder_duplicate(journey=_journey(request, journey_id), actor=request.user)
    messages.success(request, f"Created '{copy.name}'.")
    return _back(copy)
