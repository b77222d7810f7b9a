"""The builder's other screens: new journey, gallery, approval rule, versions with a visual
diff, and test runs."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.models import Customer
from console.views import require_perm
from journeys.builder import selectors, services
from journeys.builder.runs import test_run_context, test_run_form_context
from journeys.builder.views import _journey, builder_context
from journeys.engine.seeds import SEED_JOURNEYS
from journeys.services import JourneyInvalid, journey_create


@require_GET
@require_perm()
def builder_gallery(request: HttpRequest) -> HttpResponse:
    gallery = []
    for slug, (name, build) in SEED_JOURNEYS.items():
        graph = build()
        kinds = sorted({n["kind"] for n in graph["nodes"]})
        gallery.append({"slug": slug, "name": name, "nodes": len(graph["nodes"]), "kinds": kinds})
    context = {
        "gallery": gallery,
        "settings": selectors.builder_settings(workspace=request.workspace),
        "can_edit": "edit_journeys" in request.perms,
        "can_manage": "manage_settings" in request.perms,
    }
    return render(request, "journeys/builder_gallery.html", context)


@require_POST
@require_perm("edit_journeys")
def builder_gallery_use(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in SEED_JOURNEYS:
        return HttpResponse("No such journey in the gallery.", status=404)
    name, build = SEED_JOURNEYS[slug]
    journey = journey_create(
        workspace=request.workspace,
        name=f"{name} (from the gallery)",
        graph=build(),
        actor=request.user,
        gallery_slug=slug,
    )
    return redirect("builder_page", journey_id=journey.pk)


@require_POST
@require_perm("edit_journeys")
def builder_new(request: HttpRequest) -> HttpResponse:
    try:
        journey = journey_create(
            workspace=request.workspace, name=request.POST.get("name", ""), actor=request.user
        )
    except JourneyInvalid as exc:
        messages.error(request, str(exc))
        return redirect("builder_gallery")
    return redirect("builder_page", journey_id=journey.pk)


@require_POST
@require_perm("manage_settings")
def builder_settings(request: HttpRequest) -> HttpResponse:
    services.builder_settings_save(
        workspace=request.workspace,
        require_approval=request.POST.get("require_approval") == "on",
        actor=request.user,
    )
    messages.success(request, "Publication rule saved.")
    return redirect("builder_gallery")


@require_GET
@require_perm()
def builder_versions(
    request: HttpRequest, journey_id: int, number: int | None = None
) -> HttpResponse:
    """Version history; with ``number``, that version on a read-only canvas with what changed
    from the version before it (or from it to the draft with ?against=draft)."""
    journey = _journey(request, journey_id)
    versions = list(journey.versions.select_related("published_by").order_by("-number"))
    context = {
        "journey": journey,
        "versions": versions,
        "diff": None,
        "can_publish": "publish_journeys" in request.perms,
    }
    if number is not None:
        context |= _diff_context(request, journey, versions, number)
    return render(request, "journeys/builder_versions.html", context)


def _diff_context(request, journey, versions, number: int) -> dict:
    chosen = next((v for v in versions if v.number == number), None)
    if chosen is None:
        return {"missing": number}
    if request.GET.get("against") == "draft":
        old, new, title = chosen.graph, journey.draft, f"v{number} → draft"
    else:
        previous = next((v for v in versions if v.number == number - 1), None)
        old, new = (previous.graph if previous else None), chosen.graph
        title = f"v{number - 1} → v{number}" if previous else f"v{number} (first version)"
    diff = selectors.version_diff(old, new)
    removed = [n for n in (old or {}).get("nodes", []) if n["id"] in diff["removed"]]
    shown = dict(new, nodes=list(new.get("nodes", [])) + removed)
    data = {
        "graph": shown,
        "palette": selectors.palette(),
        "readonly": True,
        "diff": diff,
        "nodes": selectors.node_infos(new, []),
    }
    return {"diff": diff, "title": title, "chosen": chosen, "builder_data": data}


@require_http_methods(["GET", "POST"])
@require_perm()
def builder_test_run(request: HttpRequest, journey_id: int) -> HttpResponse:
    """GET: the outcome pickers; POST: run the draft with them and show the path."""
    journey = _journey(request, journey_id)
    context = test_run_form_context(journey)
    status = 200
    if request.method == "POST":
        customer = None
        if request.POST.get("customer", "test") != "test":
            customer = get_object_or_404(
                Customer, pk=request.POST.get("customer"), workspace=request.workspace
            )
        result = test_run_context(journey, request.POST, customer)
        status = 422 if result.get("run_error") else 200
        context |= result
    if request.htmx:
        return render(request, "journeys/builder.html#test_run", context, status=status)
    page = builder_context(request, journey) | context | {"open_test_run": True}
    return render(request, "journeys/builder.html", page, status=status)


def test_run_json(context: dict) -> str:
    return json.dumps(context.get("run_path", {}))
