"""The JSON format of a journey version (format 1), parsed through pydantic.

See docs/journey-format.md for the prose and a full example. Node configs are kept as given (plain
JSON objects) in the version and parsed by their node kind on use, so that a draft with one bad
node still loads into the builder and validation can name that node's field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .conditions import Condition

FORMAT = 1
PURPOSES = ("transactional", "service", "promotional")
NODE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Position(_Strict):
    x: float = 0
    y: float = 0


class NodeSpec(_Strict):
    id: str = Field(pattern=NODE_ID_PATTERN, description="Unique within the version")
    kind: str = Field(description="A registered node kind, e.g. send, wait_for")
    config: dict[str, Any] = Field(default_factory=dict)
    position: Position = Field(default_factory=Position)
    label: str = ""


class Edge(_Strict):
    source: str = Field(alias="from", description="The node the edge leaves")
    port: str = Field(description="The port of that node, e.g. sent, timeout, yes")
    to: str = Field(description="The node entered next")


class TriggerRef(_Strict):
    node: str = Field(description="Id of the journey's trigger node (its entry point)")


class GoalRule(_Strict):
    """The journey's goal: an event (matched on the correlation key) that counts as success."""

    event: str
    match_correlation: bool = True
    when: Condition | None = None
    then: Literal["complete", "continue", "goto"] = Field(
        "complete",
        description="complete: end the run now; continue: mark success and go on; "
        "goto: mark success and jump to node `goto`",
    )
    goto: str | None = None


class ExitRule(_Strict):
    """An event that ends the run as exited wherever it is (e.g. order.cancelled)."""

    event: str
    match_correlation: bool = True
    when: Condition | None = None
    reason: str = ""


class EntryRules(_Strict):
    reentry: Literal["never", "cooldown", "always"] = "always"
    cooldown_hours: int = Field(0, ge=0)
    one_active_per_key: bool = True
    correlation_key: str | None = Field(
        None, description="Trigger property that identifies the matter, e.g. order_id"
    )


class JourneyVersion(_Strict):
    format: Literal[1] = FORMAT
    trigger: TriggerRef | None = None
    goal: GoalRule | None = None
    exit_conditions: list[ExitRule] = Field(default_factory=list)
    entry: EntryRules = Field(default_factory=EntryRules)
    holdout_percent: float = Field(0, ge=0, le=50)
    priority: int = 0
    suppresses: list[Literal["transactional", "service", "promotional"]] = Field(
        default_factory=list,
        description="Purposes of other, lower-priority journeys held back while a run is active",
    )
    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)

    _by_id: dict[str, NodeSpec] | None = PrivateAttr(None)
    _out: dict[tuple[str, str], str] | None = PrivateAttr(None)
    _configs: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    # The caches are read from ``__pydantic_private__`` directly: a private attribute goes
    # through pydantic's ``__getattr__`` (a few microseconds), and the stepper asks per step.

    def node(self, node_id: str) -> NodeSpec | None:
        private = self.__pydantic_private__
        by_id = private["_by_id"]
        if by_id is None:
            by_id = private["_by_id"] = {node.id: node for node in self.nodes}
        return by_id.get(node_id)

    def next_node(self, node_id: str, port: str) -> str | None:
        """Where the edge from ``node_id``'s ``port`` leads (the first such edge), or None."""
        private = self.__pydantic_private__
        out = private["_out"]
        if out is None:
            out = {}
            for edge in self.edges:
                out.setdefault((edge.source, edge.port), edge.to)
            private["_out"] = out
        return out.get((node_id, port))

    def trigger_nodes(self) -> list[NodeSpec]:
        return [node for node in self.nodes if node.kind.startswith("trigger.")]

    def entry_node(self) -> NodeSpec | None:
        """The trigger node runs start at (the one named by ``trigger``, else the only one)."""
        if self.trigger is not None:
            return self.node(self.trigger.node)
        triggers = self.trigger_nodes()
        return triggers[0] if len(triggers) == 1 else None

    def config(self, node_id: str) -> BaseModel:
        """The node's config parsed by its kind (cached); raises pydantic's ValidationError."""
        configs = self.__pydantic_private__["_configs"]
        if node_id not in configs:
            from .registry import node_kind

            node = self.node(node_id)
            if node is None:
                raise KeyError(f"no node {node_id!r} in this journey version")
            configs[node_id] = node_kind(node.kind).config_model.model_validate(node.config)
        return configs[node_id]


def journey_parse(data: Mapping[str, Any] | str | bytes) -> JourneyVersion:
    """A version from its JSON (text or already decoded); raises pydantic's ValidationError."""
    if isinstance(data, str | bytes):
        return JourneyVersion.model_validate_json(data)
    return JourneyVersion.model_validate(dict(data))


def journey_export(version: JourneyVersion) -> dict[str, Any]:
    """The version as plain JSON data; ``journey_export(journey_parse(x))`` is stable."""
    return version.model_dump(mode="json", by_alias=True)


def journey_export_text(version: JourneyVersion) -> str:
    """The version as a JSON file's text (two-space indent, stable key order, trailing newline)."""
    return json.dumps(journey_export(version), indent=2, ensure_ascii=False) + "\n"
