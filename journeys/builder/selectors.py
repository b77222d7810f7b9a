"""Reads for the builder: validation (engine checks plus compliance lint, run once per save),
per-node facts for the canvas, the palette, template pickers, variable hints and version diffs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from console.models import Customer, Event, Workspace
from journeys.builder.lint import journey_lint
from journeys.builder.models import BuilderSettings, PublishRequest
from journeys.engine import (
    JourneyVersion,
    Problem,
    journey_parse,
    journey_validate,
    node_kinds,
    node_palette,
    node_ports,
    node_summary,
)
from journeys.models import Journey
from journeys.selectors import templates_info, webhook_hosts

# How many recent events of the trigger's name are read to learn which properties it carries.
EVENT_SAMPLE = 20


@lru_cache(maxsize=1)
def palette() -> list[dict[str, Any]]:
    """The node palette (static for a process: the registry is filled at import)."""
    return node_palette()


def kind_entry(kind: str) -> dict[str, Any] | None:
    for group in palette():
        for entry in group["kinds"]:
            if entry["kind"] == kind:
                return entry
    return None


def graph_parse(graph: Mapping[str, Any]) -> JourneyVersion | None:
    try:
        return journey_parse(graph)
    except ValidationError:
        return None


def trigger_event_name(version: JourneyVersion | None) -> str | None:
    node = version.entry_node() if version is not None else None
    if node is None or node.kind != "trigger.event":
        return None
    return node.config.get("event") or None


def trigger_event_properties(*, workspace: Workspace, event: str | None) -> set[str] | None:
    """Properties recent ``event`` events carried in this workspace; None when none were seen
    (then the variable check is skipped rather than guessing)."""
    if not event:
        return None
    rows = (
        Event.objects.filter(workspace=workspace, name=event)
        .order_by("-occurred_at")
        .values_list("properties", flat=True)[:EVENT_SAMPLE]
    )
    names: set[str] = set()
    seen = False
    for properties in rows:
        seen = True
        names.update((properties or {}).keys())
    return names if seen else None


def event_names(*, workspace: Workspace, limit: int = 50) -> list[str]:
    names = Event.objects.filter(workspace=workspace).values_list("name", flat=True).distinct()
    return sorted(names[:limit])


def builder_problems(*, workspace: Workspace, graph: Mapping[str, Any]) -> list[Problem]:
    """Every problem of a draft: the engine's checks (with the workspace's templates, webhook
    allow-list and the trigger's known properties) plus the compliance lint. One pass."""
    version = graph_parse(graph)
    if version is None:
        return journey_validate(graph)
    templates = templates_info(workspace=workspace)
    properties = trigger_event_properties(workspace=workspace, event=trigger_event_name(version))
    problems = journey_validate(
        version,
        templates=templates,
        webhook_hosts=webhook_hosts(workspace),
        trigger_properties=properties,
    )
    return problems + journey_lint(version, templates=templates)


def node_infos(graph: Mapping[str, Any], problems: list[Problem]) -> dict[str, dict[str, Any]]:
    """Node id -> what the canvas shows: summary, ports (derived from the config), problem
    counts. Works on a draft that does not parse as a whole (node by node)."""
    version = graph_parse(graph)
    nodes = version.nodes if version is not None else []
    known = node_kinds()
    counts: dict[str, dict[str, int]] = {}
    for problem in problems:
        if problem.node_id:
            entry = counts.setdefault(problem.node_id, {"error": 0, "warning": 0})
            entry[problem.severity] += 1
    infos = {}
    for node in nodes:
        if node.kind not in known:
            summary, ports = f"unknown kind {node.kind}", []
        else:
            summary = node_summary(node)
            ports = [asdict(port) for port in node_ports(node)]
        found = counts.get(node.id, {"error": 0, "warning": 0})
        infos[node.id] = {
            "summary": summary,
            "ports": ports,
            "errors": found["error"],
            "warnings": found["warning"],
        }
    return infos


def problems_json(problems: list[Problem]) -> list[dict[str, Any]]:
    order = {"error": 0, "warning": 1}
    rows = sorted(problems, key=lambda p: order.get(p.severity, 2))
    return [asdict(problem) for problem in rows]


def templates_for(*, workspace: Workspace, channel: str) -> list[dict[str, str]]:
    """Templates a picker offers for ``channel`` (key, name, latest status)."""
    from channels_app.tmpl.selectors import template_list

    rows = template_list(workspace=workspace, channel=channel) if channel else []
    return [
        {"key": t.key, "name": t.name, "status": t.latest_status or "draft", "purpose": t.purpose}
        for t in rows
    ]


def template_preview_for(
    *, workspace: Workspace, key: str, customer: Customer | None = None, context=None
):
    """The template rendered for a customer (or samples), or None when it cannot be shown."""
    from channels_app.tmpl.selectors import (
        template_get_by_key,
        template_version_approved,
        template_version_latest,
    )
    from channels_app.tmpl.services import template_preview

    template = template_get_by_key(workspace=workspace, key=key) if key else None
    if template is None:
        return None
    version = template_version_approved(template=template) or template_version_latest(
        template=template
    )
    if version is None:
        return None
    try:
        return template_preview(version=version, customer=customer, sample_context=context)
    except ValueError:
        return None


def builder_settings(*, workspace: Workspace) -> BuilderSettings:
    found = BuilderSettings.objects.filter(workspace=workspace).first()
    return found or BuilderSettings(workspace=workspace)


def publish_requests(*, journey: Journey, limit: int = 10):
    return (
        PublishRequest.objects.filter(journey=journey)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at", "-id")[:limit]
    )


def version_diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, list[str]]:
    """Node ids added, removed and changed (kind, config, label or outgoing edges) from
    ``old`` to ``new``; moving a node is not a change."""

    def index(graph):
        nodes = {n["id"]: n for n in (graph or {}).get("nodes", [])}
        out: dict[str, set] = {node_id: set() for node_id in nodes}
        for edge in (graph or {}).get("edges", []):
            out.setdefault(edge.get("from"), set()).add((edge.get("port"), edge.get("to")))
        return nodes, out

    old_nodes, old_out = index(old)
    new_nodes, new_out = index(new)
    changed = [
        node_id
        for node_id, node in new_nodes.items()
        if node_id in old_nodes
        and (_essence(node) != _essence(old_nodes[node_id]) or new_out[node_id] != old_out[node_id])
    ]
    return {
        "added": [n for n in new_nodes if n not in old_nodes],
        "removed": [n for n in old_nodes if n not in new_nodes],
        "changed": changed,
    }


def _essence(node: Mapping[str, Any]) -> tuple:
    return (node.get("kind"), node.get("config") or {}, node.get("label") or "")
