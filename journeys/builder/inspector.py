"""The inspector: the form of one node (from its kind's schema) with template pickers, a
preview, variable hints and the node's problems, and the parse of a posted form into a save."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from journeys.builder import selectors, services
from journeys.builder.forms import FieldSpec, config_parse, errors_by_field, fields_build
from journeys.engine import node_config_errors
from journeys.models import Journey
from journeys.services import JourneyStateError

SENDING = ("send", "voice_call", "escalation")


@dataclass
class Posted:
    journey: Journey
    config: dict[str, Any]
    label: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    status: int = 200
    trigger: dict[str, Any] | None = None
    conflict: str = ""


def _draft_node(journey: Journey, node_id: str) -> dict | None:
    for node in (journey.draft or {}).get("nodes", []):
        if node.get("id") == node_id:
            return node
    return None


def inspector_parse(request: HttpRequest, journey: Journey, node_id: str) -> Posted:
    """Read the posted form; save when the config is valid (422 with field errors when not)."""
    node = _draft_node(journey, node_id)
    if node is None:
        return Posted(journey, {}, "", status=404)
    entry = selectors.kind_entry(node["kind"]) or {"schema": {}}
    specs = fields_build(node["kind"], entry["schema"], node.get("config") or {})
    config, errors = config_parse(specs, request.POST)
    label = request.POST.get("label", "").strip()[:200]
    posted = Posted(journey, config, label, errors)
    if not errors:
        names = {spec.name for spec in specs}
        posted.errors = errors_by_field(node_config_errors(node["kind"], config), names)
    if posted.errors:
        posted.status = 422
        return posted
    try:
        revision = int(request.POST.get("revision", "-1"))
        result = services.builder_node_save(
            journey=journey,
            node_id=node_id,
            config=config,
            label=label,
            revision=revision,
            actor=request.user,
        )
    except (JourneyStateError, KeyError) as exc:
        posted.conflict = str(exc).strip("'\"")
        return posted
    posted.journey = result.journey
    posted.trigger = {"node": node_id, "config": config, "label": label} | result.as_json()
    return posted


def inspector_context(
    request: HttpRequest, journey: Journey, node_id: str, posted: Posted | None = None
) -> dict | None:
    node = _draft_node(journey, node_id)
    if node is None:
        return None
    entry = selectors.kind_entry(node["kind"]) or {"schema": {}, "label": node["kind"]}
    config = posted.config if posted and posted.status == 422 else node.get("config") or {}
    specs = fields_build(node["kind"], entry["schema"], config)
    problems = [
        p
        for p in selectors.builder_problems(workspace=journey.workspace, graph=journey.draft)
        if p.node_id == node_id
    ]
    _attach_errors(specs, posted.errors if posted else {}, problems)
    channel = "voice" if node["kind"] == "voice_call" else config.get("channel", "")
    return {
        "journey": journey,
        "node": node,
        "node_label": posted.label if posted and posted.status == 422 else node.get("label", ""),
        "kind": entry,
        "fields": specs,
        "form_errors": (posted.errors.get("__all__", []) if posted else []),
        "node_problems": problems,
        "saved": bool(posted and posted.trigger),
        "template_choices": selectors.templates_for(workspace=journey.workspace, channel=channel)
        if channel in ("sms", "whatsapp", "voice")
        else [],
        "template_channel": channel,
        "preview": selectors.template_preview_for(
            workspace=journey.workspace, key=str(config.get("template") or "")
        )
        if node["kind"] in ("send", "voice_call")
        else None,
        "message_nodes": _message_nodes(journey, node_id),
        "hints": _hints(journey, node["kind"]),
        "revision": journey.draft_revision,
        "can_edit": "edit_journeys" in request.perms,
        "event_names": selectors.event_names(workspace=journey.workspace),
    }


def _attach_errors(specs: list[FieldSpec], errors: dict[str, list[str]], problems) -> None:
    by_name = {spec.name: spec for spec in specs}
    for name, texts in errors.items():
        if name in by_name:
            by_name[name].errors += texts
    for problem in problems:
        root = (problem.field or "").split(".")[0]
        if root in by_name and problem.message not in by_name[root].errors:
            by_name[root].errors.append(problem.message)


def _message_nodes(journey: Journey, node_id: str) -> list[tuple[str, str]]:
    return [
        (n["id"], n.get("label") or n["id"])
        for n in (journey.draft or {}).get("nodes", [])
        if n.get("kind") in SENDING and n["id"] != node_id
    ]


def _hints(journey: Journey, kind: str) -> dict[str, Any]:
    """Variables a template or condition can use here: the trigger event's properties (from
    recent events of that name), values set by update nodes, and the customer profile."""
    version = selectors.graph_parse(journey.draft or {})
    event = selectors.trigger_event_name(version)
    props = selectors.trigger_event_properties(workspace=journey.workspace, event=event) or set()
    updates = [
        n.config.get("name")
        for n in (version.nodes if version else [])
        if n.kind == "update"
        and n.config.get("target", "context") == "context"
        and n.config.get("name")
    ]
    return {
        "event": event,
        "context": sorted(props | set(updates)),
        "customer": ["customer.name", "customer.phone", "customer.language", "attributes.<name>"],
        "show": kind not in ("goal", "exit", "trigger.segment"),
    }
