"""Publish the draft and move running customers by an explicit node mapping.

The operator sees, for every node where customers wait now, how many are there and which draft
node of the same kind they would move to; nothing moves until they confirm with the counts shown.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from console.views import require_perm
from journeys.engine import journey_parse
from journeys.models import OPEN_RUN_STATUSES, Journey, Run
from journeys.services import JourneyInvalid, JourneyStateError, journey_publish
from journeys.services.definitions import runs_move_preview

PAGE = "journeys/move.html"


def _waiting_nodes(journey: Journey) -> list[dict]:
    """Nodes (of any running version) where open runs sit now, with their kind and count."""
    rows = (
        Run.objects.filter(journey=journey, status__in=OPEN_RUN_STATUSES)
        .values("version__number", "version__graph", "node_id")
        .annotate(n=Count("id"))
        .order_by("node_id", "version__number")
    )
    merged: dict[str, dict] = {}
    for row in rows:
        node = journey_parse(row["version__graph"]).node(row["node_id"])
        entry = merged.setdefault(row["node_id"], {
            "id": row["node_id"], "kind": node.kind if node else "?",
            "label": (node.label or node.id) if node else row["node_id"],
            "count": 0, "versions": set(),
        })  # fmt: skip
        entry["count"] += row["n"]
        entry["versions"].add(row["version__number"])
    return sorted(merged.values(), key=lambda e: -e["count"])


def _targets(journey: Journey) -> dict[str, list[tuple[str, str]]]:
    """Draft nodes by kind: where a waiting run may go (same kind only)."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for node in journey_parse(journey.draft).nodes:
        by_kind.setdefault(node.kind, []).append((node.id, node.label or node.id))
    return by_kind


def _mapping(request: HttpRequest, waiting: list[dict], targets) -> tuple[dict[str, str], dict]:
    mapping, errors = {}, {}
    for entry in waiting:
        chosen = request.POST.get(f"map_{entry['id']}", "")
        if not chosen:
            continue
        allowed = {node_id for node_id, _ in targets.get(entry["kind"], [])}
        if chosen not in allowed:
            errors[entry["id"]] = (
                f"'{chosen}' is not a {entry['kind']} node of the draft; pick one of the list."
            )
        else:
            mapping[entry["id"]] = chosen
    return mapping, errors


@require_perm("publish_journeys")
def journey_publish_move(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = get_object_or_404(Journey, pk=journey_id, workspace=request.workspace)
    waiting, targets = _waiting_nodes(journey), _targets(journey)
    mapping, errors, preview = {}, {}, None
    if request.method == "POST":
        mapping, errors = _mapping(request, waiting, targets)
        if not errors:
            preview = runs_move_preview(journey=journey, mapping=mapping)
        if not errors and request.POST.get("confirm") == "yes":
            try:
                version = journey_publish(
                    journey=journey, actor=request.user, note=request.POST.get("note", "").strip(),
                    mapping=mapping,
                )  # fmt: skip
            except (JourneyInvalid, JourneyStateError) as exc:
                errors["publish"] = str(getattr(exc, "problems", None) or exc)
            else:
                moved = sum(preview.values())
                messages.success(
                    request, f"Published v{version.number}; {moved} running customers moved."
                )
                return redirect("journey_detail", journey_id=journey.pk)
    for entry in waiting:
        entry["targets"] = targets.get(entry["kind"], [])
        entry["chosen"] = mapping.get(entry["id"], "")
        entry["error"] = errors.get(entry["id"], "")
        entry["moving"] = (preview or {}).get(entry["id"])
    context = {
        "journey": journey,
        "waiting": waiting,
        "preview": preview,
        "errors": errors,
        "note": request.POST.get("note", ""),
        "total": sum((preview or {}).values()),
    }
    status = 400 if errors else 200
    if request.htmx:
        return render(request, f"{PAGE}#mapping", context, status=status)
    return render(request, PAGE, context, status=status)
