"""`/api/v1/journeys`: list, import (documented JSON), get, export a version, and the controls.

Validation errors answer ``{"error": "validation_error", "detail", "fields"}`` where each field
names the node and its config field, e.g. ``graph.nodes.whatsapp.template``.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Status

from console.api import ApiError, _body
from journeys.models import Journey, JourneyVersion
from journeys.selectors import journey_list, journey_totals, node_counters
from journeys.services import (
    JourneyInvalid,
    JourneyStateError,
    journey_create,
    journey_pause,
    journey_publish,
    journey_resume,
    journey_stop,
)

router = Router(tags=["journeys"])


def _journey(request: HttpRequest, journey_id: int) -> Journey:
    journey = Journey.objects.filter(workspace=request.workspace, pk=journey_id).first()
    if journey is None:
        raise ApiError(404, "not_found", f"No journey {journey_id} in this workspace.")
    return journey


def _public(journey: Journey) -> dict:
    return {
        "id": journey.pk,
        "name": journey.name,
        "status": journey.status,
        "current_version": journey.current_version,
        "draft_revision": journey.draft_revision,
        "gallery_slug": journey.gallery_slug or None,
        "created_at": journey.created_at.isoformat(),
        "updated_at": journey.updated_at.isoformat(),
    }


def _invalid(exc: JourneyInvalid) -> ApiError:
    return ApiError(400, "validation_error", str(exc) or "The journey is invalid.", exc.fields())


@router.get("", response=dict)
def journeys_list(request):
    """Journeys of the workspace with their status, current version, enrolled and completed."""
    rows = journey_list(workspace=request.workspace)
    return {
        "journeys": [
            _public(r.journey)
            | {"enrolled": r.enrolled, "active": r.active, "completed": r.completed}
            for r in rows
        ]
    }


@router.post("", response={201: dict})
def journeys_import(request):
    """Import a journey: `{"name", "graph": <version JSON>, "publish": false}` (draft unless
    publish is true, which validates against templates and refuses with the problems)."""
    data = _body(request)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object.")
    unknown = set(data) - {"name", "graph", "publish", "description", "note"}
    if unknown:
        fields = {name: ["Unknown field; remove it."] for name in sorted(unknown)}
        raise ApiError(400, "validation_error", "Unknown fields.", fields)
    if not isinstance(data.get("graph"), dict):
        fields = {"graph": ["Give the journey version JSON (docs/journey-format.md)."]}
        raise ApiError(400, "validation_error", "graph is required.", fields)
    try:
        with transaction.atomic():  # a refused publish leaves no half-imported draft behind
            journey = journey_create(
                workspace=request.workspace, name=str(data.get("name") or ""), graph=data["graph"],
                description=str(data.get("description") or ""),
            )  # fmt: skip
            if data.get("publish"):
                journey_publish(journey=journey, note=str(data.get("note") or "Imported"))
                journey.refresh_from_db()
    except JourneyInvalid as exc:
        raise _invalid(exc) from exc
    return Status(201, _public(journey) | {"draft": journey.draft})


@router.get("/{journey_id}", response=dict)
def journeys_get(request, journey_id: int):
    """One journey: draft, versions, totals and per-node counters."""
    journey = _journey(request, journey_id)
    versions = journey.versions.order_by("number").values("number", "published_at", "note")
    return _public(journey) | {
        "draft": journey.draft,
        "versions": [
            {
                "number": v["number"],
                "published_at": v["published_at"].isoformat(),
                "note": v["note"],
            }
            for v in versions
        ],
        "totals": journey_totals(journey=journey),
        "nodes": node_counters(journey=journey),
    }


@router.get("/{journey_id}/versions/{number}", response=dict)
def journeys_version_export(request, journey_id: int, number: int):
    """The version's JSON exactly as documented (import it elsewhere with POST /journeys)."""
    journey = _journey(request, journey_id)
    version = JourneyVersion.objects.filter(journey=journey, number=number).first()
    if version is None:
        raise ApiError(404, "not_found", f"Journey {journey_id} has no version {number}.")
    return version.graph


def _control(request, journey_id: int, action) -> dict:
    journey = _journey(request, journey_id)
    try:
        action(journey)
    except JourneyInvalid as exc:
        raise _invalid(exc) from exc
    except JourneyStateError as exc:
        raise ApiError(409, "conflict", str(exc), {"status": [str(exc)]}) from exc
    journey.refresh_from_db()
    return _public(journey)


@router.post("/{journey_id}/publish", response=dict)
def journeys_publish(request, journey_id: int):
    """Publish the draft as the next version (body: optional `{"note"}`)."""
    data = _body(request) if request.body else {}
    note = str((data or {}).get("note") or "") if isinstance(data, dict) else ""
    return _control(request, journey_id, lambda j: journey_publish(journey=j, note=note))


@router.post("/{journey_id}/pause", response=dict)
def journeys_pause(request, journey_id: int):
    return _control(request, journey_id, lambda j: journey_pause(journey=j))


@router.post("/{journey_id}/resume", response=dict)
def journeys_resume(request, journey_id: int):
    return _control(request, journey_id, lambda j: journey_resume(journey=j))


@router.post("/{journey_id}/stop", response=dict)
def journeys_stop(request, journey_id: int):
    """Stop: every open run exits with the reason (body: optional `{"reason"}`)."""
    data = _body(request) if request.body else {}
    reason = str((data or {}).get("reason") or "journey stopped") if isinstance(data, dict) else ""
    return _control(request, journey_id, lambda j: journey_stop(journey=j, reason=reason))
