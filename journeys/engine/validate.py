"""journey_validate: every problem of a journey version, naming the node, the field and the fix.

Errors block publishing; warnings (``severity="warning"``) are shown but allowed. Pure: the caller
passes what it knows about the workspace (templates, the trigger event's properties, other events'
properties, the webhook allow-list); a check whose data is not given is skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .conditions import condition_paths
from .format import JourneyVersion, NodeSpec, journey_parse
from .nodes.common import channel_name
from .nodes.webhook import url_host
from .registry import TemplateUse, node_kind, node_kinds, node_ports

APPROVED = frozenset({"approved", "active"})
PROMOTIONAL_CATEGORIES = frozenset({"marketing", "promotional"})
CUSTOMER_ROOTS = ("customer", "attributes")


@dataclass(frozen=True)
class TemplateInfo:
    """What validation needs of a template: its channel, category (SMS/voice: transactional,
    service, promotional; WhatsApp: utility, marketing, authentication), approval status and the
    variables it needs."""

    channel: str
    category: str
    status: str
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    node_id: str | None
    field: str | None
    code: str
    message: str
    severity: Literal["error", "warning"] = "error"


@dataclass
class _Check:
    version: JourneyVersion
    templates: Mapping[str, TemplateInfo] | None
    trigger_properties: set[str] | None
    event_properties: Mapping[str, Collection[str]] | None
    webhook_hosts: Collection[str] | None
    problems: list[Problem] = field(default_factory=list)
    configs: dict[str, BaseModel] = field(default_factory=dict)

    def add(self, node: NodeSpec | None, fld: str | None, code: str, message: str, warn=False):
        prefix = f"{_name(node)}: " if node is not None else ""
        severity = "warning" if warn else "error"
        self.problems.append(
            Problem(node.id if node else None, fld, code, prefix + message, severity)
        )


def _name(node: NodeSpec) -> str:
    return f"“{node.label}” ({node.id})" if node.label else node.id


def journey_validate(
    version: JourneyVersion | Mapping[str, Any],
    *,
    templates: Mapping[str, TemplateInfo] | None = None,
    trigger_properties: set[str] | None = None,
    event_properties: Mapping[str, Collection[str]] | None = None,
    webhook_hosts: Collection[str] | None = None,
) -> list[Problem]:
    """Every problem found, errors and warnings, in a stable order (journey, then nodes)."""
    if not isinstance(version, JourneyVersion):
        try:
            version = journey_parse(version)
        except ValidationError as error:
            return _format_problems(error)
    check = _Check(version, templates, trigger_properties, event_properties, webhook_hosts)
    _check_nodes(check)
    _check_triggers(check)
    _check_edges(check)
    _check_reachable(check)
    _check_loops(check)
    _check_journey_rules(check)
    for node in version.nodes:
        config = check.configs.get(node.id)
        if config is not None:
            _check_sending(check, node, config)
    return check.problems


def _format_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        problems.append(Problem(None, loc or None, "invalid_format", f"{loc}: {item['msg']}"))
    return problems


def _check_nodes(check: _Check) -> None:
    seen: set[str] = set()
    for node in check.version.nodes:
        if node.id in seen:
            check.add(node, "id", "duplicate_node_id", "another node has this id; rename one")
        seen.add(node.id)
        if node.kind not in _known_kinds():
            known = ", ".join(sorted(_known_kinds()))
            check.add(
                node, "kind", "unknown_kind", f"unknown kind {node.kind!r}; use one of {known}"
            )
            continue
        kind = node_kind(node.kind)
        try:
            config = kind.config_model.model_validate(node.config)
        except ValidationError as error:
            for item in error.errors():
                name = ".".join(str(part) for part in item["loc"]) or None
                message = item["msg"].removeprefix("Value error, ")
                where = f"{name}: " if name and not message.startswith(f"{name}:") else ""
                check.add(node, name, "invalid_config", f"{where}{message}")
            continue
        check.configs[node.id] = config
        for fld, code, message in kind.problems(config):
            check.add(node, fld, code, message)


def _known_kinds() -> set[str]:
    return set(node_kinds())


def _check_triggers(check: _Check) -> None:
    version = check.version
    triggers = version.trigger_nodes()
    if not triggers:
        check.add(None, "nodes", "no_trigger", "the journey has no trigger: add one from Triggers")
    for extra in triggers[1:]:
        check.add(extra, None, "many_triggers", "a journey has one trigger; remove this one")
    if version.trigger and version.node(version.trigger.node) not in triggers:
        check.add(None, "trigger.node", "trigger_ref", "trigger.node must name the trigger node")
    trigger_ids = {node.id for node in triggers}
    for edge in version.edges:
        if edge.to in trigger_ids:
            node = version.node(edge.to)
            check.add(node, None, "trigger_has_input", "nothing may lead into a trigger")


def _check_edges(check: _Check) -> None:
    version, used = check.version, {}
    for edge in version.edges:
        source, target = version.node(edge.source), version.node(edge.to)
        if source is None or target is None:
            missing = edge.source if source is None else edge.to
            check.add(
                source,
                "edges",
                "unknown_edge_node",
                f"an edge refers to unknown node {missing!r}; delete the edge",
            )
            continue
        if source.kind not in _known_kinds():
            continue
        ports = {port.name for port in node_ports(source)}
        if edge.port not in ports:
            check.add(
                source,
                "edges",
                "unknown_port",
                f"has no port {edge.port!r} (ports: {', '.join(sorted(ports)) or 'none'})",
            )
        elif (edge.source, edge.port) in used:
            check.add(
                source,
                "edges",
                "port_reused",
                f"port {edge.port!r} has two edges; a port leads to one node, remove one",
            )
        used[(edge.source, edge.port)] = edge.to
    for node in version.nodes:
        if node.kind not in _known_kinds():
            continue
        for port in node_ports(node):
            if (node.id, port.name) in used:
                continue
            if port.required:
                check.add(
                    node,
                    "edges",
                    "dangling_port",
                    f"port {port.name!r} is not connected; connect it to the next step",
                )
            else:
                check.add(
                    node,
                    "edges",
                    "unconnected_port",
                    f"port {port.name!r} is not connected: runs taking it end here",
                    warn=True,
                )


def _successors(version: JourneyVersion) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {node.id: [] for node in version.nodes}
    for edge in version.edges:
        if edge.source in graph and edge.to in graph:
            graph[edge.source].append(edge.to)
    return graph


def _reach(graph: Mapping[str, list[str]], starts: list[str]) -> set[str]:
    seen, stack = set(starts), list(starts)
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _check_reachable(check: _Check) -> None:
    version = check.version
    starts = [node.id for node in version.trigger_nodes()]
    if not starts:
        return
    goal = version.goal
    if goal and goal.then == "goto" and goal.goto and version.node(goal.goto):
        starts.append(goal.goto)
    reached = _reach(_successors(version), starts)
    for node in version.nodes:
        if node.id not in reached:
            check.add(
                node,
                None,
                "unreachable",
                "no path from the trigger reaches this node; connect it or delete it",
            )


def _check_loops(check: _Check) -> None:
    """A cycle must pass a wait or wait-for node, else one event could spin the run for ever."""
    version = check.version
    breaks = {node.id for node in version.nodes if _breaks_loops(node)}
    graph = {
        node: [nxt for nxt in nexts if nxt not in breaks]
        for node, nexts in _successors(version).items()
        if node not in breaks
    }
    reach = {node: _reach(graph, graph[node]) for node in graph}
    reported: set[str] = set()
    for node in version.nodes:
        if node.id not in graph or node.id in reported or node.id not in reach[node.id]:
            continue
        cycle = [other.id for other in version.nodes
                 if other.id in reach[node.id] and node.id in reach.get(other.id, ())]  # fmt: skip
        reported.update(cycle)
        check.add(
            node,
            "edges",
            "loop_without_wait",
            f"loop without a wait through {' → '.join(cycle)}; add a wait or wait-for in it",
        )


def _breaks_loops(node: NodeSpec) -> bool:
    return node.kind in _known_kinds() and node_kind(node.kind).breaks_loops


def _check_journey_rules(check: _Check) -> None:
    version = check.version
    goal = version.goal
    if goal and goal.then == "goto":
        if not goal.goto or version.node(goal.goto) is None:
            check.add(
                None,
                "goal.goto",
                "goal_goto_unknown",
                "goal.goto must name a node of this journey to jump to",
            )
    rules = [("goal.when", goal.when if goal else None)]
    rules += [
        (f"exit_conditions.{i}.when", rule.when) for i, rule in enumerate(version.exit_conditions)
    ]
    for node in version.nodes:
        config = check.configs.get(node.id)
        for arm_index, arm in enumerate(getattr(config, "arms", []) or []):
            rules.append((f"{node.id}:arms.{arm_index}.when", getattr(arm, "when", None)))
    for where, condition in rules:
        for path in condition_paths(condition):
            root, _, rest = path.partition(".")
            if root in ("outcomes", "ports") and version.node(rest) is None:
                check.add(
                    None,
                    where,
                    "unknown_node_in_condition",
                    f"{where}: {path} names no node of this journey",
                )
    key = version.entry.correlation_key
    if key and check.trigger_properties is not None and key not in check.trigger_properties:
        check.add(
            None,
            "entry.correlation_key",
            "correlation_key_missing",
            f"the trigger event has no property {key!r}; pick one it carries",
        )
    if version.entry.reentry == "cooldown" and version.entry.cooldown_hours == 0:
        check.add(
            None,
            "entry.cooldown_hours",
            "cooldown_zero",
            "re-entry after a cool-down needs cooldown_hours above 0",
            warn=True,
        )


def _check_sending(check: _Check, node: NodeSpec, config: BaseModel) -> None:
    kind = node_kind(node.kind)
    uses = kind.templates(config)
    channels = {use.channel for use in uses}
    if "voice" in channels and getattr(config, "calling_window", None) is None:
        check.add(
            node,
            "calling_window",
            "voice_no_calling_window",
            "a voice call needs calling hours; set calling_window, e.g. 08:00-19:00",
        )
    if getattr(config, "purpose", None) == "promotional" and not config.respect_quiet_hours:
        check.add(
            node,
            "respect_quiet_hours",
            "promotional_ignores_quiet_hours",
            "promotional messages must respect quiet hours (TRAI: 09:00-21:00); tick it",
        )
    if node.kind == "wait_for" and config.message_node:
        target = check.version.node(config.message_node)
        if target is None or target.kind not in ("send", "escalation", "voice_call"):
            check.add(
                node,
                "message_node",
                "message_node_unknown",
                f"message_node {config.message_node!r} is not a sending node of this journey",
            )
    if node.kind == "webhook" and check.webhook_hosts is not None:
        host = url_host(config.url)
        if host not in {allowed.lower() for allowed in check.webhook_hosts}:
            check.add(
                node,
                "url",
                "webhook_host_not_allowed",
                f"{host} is not on the workspace's webhook allow-list; add it there first",
            )
    for use in uses:
        _check_template(check, node, config, use)


def _check_template(check: _Check, node: NodeSpec, config: BaseModel, use: TemplateUse) -> None:
    if check.templates is None or not use.key:
        return
    info = check.templates.get(use.key)
    if info is None:
        check.add(
            node,
            use.field,
            "template_missing",
            f"template {use.key!r} does not exist; create it or pick another",
        )
        return
    if info.channel != use.channel:
        check.add(
            node,
            use.field,
            "template_channel_mismatch",
            f"template {use.key!r} is for {channel_name(info.channel)}, not "
            f"{channel_name(use.channel)}; pick a {channel_name(use.channel)} template",
        )
    if info.status.lower() not in APPROVED:
        check.add(
            node,
            use.field,
            "template_unapproved",
            f"template {use.key!r} is {info.status.lower()}, not approved; "
            "use an approved template or get this one approved",
        )
    promotional_template = info.category.lower() in PROMOTIONAL_CATEGORIES
    if promotional_template != (use.purpose == "promotional"):
        check.add(
            node,
            use.field,
            "template_purpose_mismatch",
            f"{channel_name(info.channel)} {info.category.lower()} template {use.key!r} in a "
            f"{use.purpose} node; set the node's purpose to match or pick another template",
        )
    _check_variables(check, node, config, use, info)


def _provided_variables(check: _Check, node: NodeSpec) -> set[str] | None:
    """Names the run's context holds when it reaches ``node`` (trigger properties plus what the
    nodes before it set or merge), or None when an event merged before it is not described."""
    if check.trigger_properties is None:
        return None
    provided = set(check.trigger_properties)
    before = _reach(_predecessors(check.version), [node.id])
    for other in check.version.nodes:
        config = check.configs.get(other.id)
        if other.id not in before or config is None:
            continue
        if other.kind == "update" and config.target == "context":
            provided.add(config.name)
        if other.kind == "wait_for" and config.event and config.merge_properties:
            known = (check.event_properties or {}).get(config.event)
            if known is None:
                return None
            provided.update(known)
    return provided


def _predecessors(version: JourneyVersion) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {node.id: [] for node in version.nodes}
    for edge in version.edges:
        if edge.source in graph and edge.to in graph:
            graph[edge.to].append(edge.source)
    return graph


def _check_variables(check, node, config, use: TemplateUse, info: TemplateInfo) -> None:
    provided = _provided_variables(check, node)
    if provided is None:
        return
    mapped = set(getattr(config, "variables", {}) or {})
    for name in info.variables:
        root, _, rest = name.partition(".")
        if name in mapped or name in provided or root in CUSTOMER_ROOTS:
            continue
        if root in ("context", "event", "trigger") and rest in provided:
            continue
        check.add(
            node,
            use.field,
            "variable_missing",
            f"template {use.key!r} needs {name!r}, which the trigger does not provide; "
            "map it under variables or set it with an update node",
        )
