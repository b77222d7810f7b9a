"""Node kinds as plug-ins: a ``{kind: NodeKind}`` registry, one module per kind in ``nodes/``.

A kind declares its config schema (pydantic, with titles and descriptions the builder's inspector
renders), its palette group, label and icon, its ports (static, or derived from the config), whether
it is instantaneous, and a pure ``step(StepInput) -> StepOutcome``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from .format import NodeSpec
from .types import StepInput, StepOutcome

GROUPS = {
    "triggers": "Triggers",
    "messages": "Messages",
    "waits": "Waits",
    "logic": "Logic",
    "voice": "Voice",
    "actions": "Actions",
    "ends": "Ends",
}


@dataclass(frozen=True)
class Port:
    """An exit of a node. Every port takes at most one edge (a run follows one path); a
    ``required`` port left unconnected is a validation error, an optional one a warning (runs
    that take it end there)."""

    name: str
    label: str
    required: bool = True


@dataclass(frozen=True)
class TemplateUse:
    """A template a node sends, for validation: where in the config, which channel and purpose."""

    field: str
    key: str
    channel: str
    purpose: str


class NodeKind:
    kind: ClassVar[str]
    label: ClassVar[str]
    icon: ClassVar[str]
    group: ClassVar[str]
    description: ClassVar[str] = ""
    config_model: ClassVar[type[BaseModel]]
    # False when the node can stop the run (it sends and waits for a verdict, or waits for time).
    instantaneous: ClassVar[bool] = True
    # True when every pass through the node waits for time, so a loop through it is safe.
    breaks_loops: ClassVar[bool] = False

    def ports(self, config: BaseModel | None) -> list[Port]:
        """The node's ports; ``config`` is None when the config does not parse."""
        return [Port("out", "Next")]

    def step(self, ctx: StepInput) -> StepOutcome:
        raise NotImplementedError

    def summary(self, config: BaseModel) -> str:
        """The node's essentials at a glance on the canvas."""
        return self.label

    def templates(self, config: BaseModel) -> list[TemplateUse]:
        return []

    def problems(self, config: BaseModel) -> list[tuple[str | None, str, str]]:
        """Kind-specific checks beyond the schema: (field, code, message) each."""
        return []

    def example_config(self) -> dict[str, Any]:
        """A config that validates, used to place a new node from the palette."""
        return {}


NODE_KINDS: dict[str, NodeKind] = {}


def node_kind_register(cls: type[NodeKind]) -> type[NodeKind]:
    """Class decorator: add a kind to the registry (each kind module calls it at import)."""
    if cls.group not in GROUPS:
        raise ValueError(f"{cls.__name__}: group must be one of {', '.join(GROUPS)}")
    NODE_KINDS[cls.kind] = cls()
    return cls


def _load() -> None:
    from . import nodes  # noqa: F401  (importing the package registers every kind)


def node_kind(kind: str) -> NodeKind:
    """The registered kind; KeyError naming the known kinds when there is none."""
    _load()
    try:
        return NODE_KINDS[kind]
    except KeyError:
        raise KeyError(
            f"unknown node kind {kind!r}; known kinds: {', '.join(sorted(NODE_KINDS))}"
        ) from None


def node_kinds() -> dict[str, NodeKind]:
    _load()
    return dict(NODE_KINDS)


def node_config_parse(kind: str, config: dict[str, Any]) -> BaseModel:
    """Parse a node's config through its kind's schema; raises pydantic's ValidationError."""
    return node_kind(kind).config_model.model_validate(config)


def node_config_errors(kind: str, config: dict[str, Any]) -> dict[str, list[str]]:
    """Field name (dotted) -> messages, for the inspector form; empty when the config is valid."""
    try:
        node_config_parse(kind, config)
    except ValidationError as error:
        fields: dict[str, list[str]] = {}
        for item in error.errors():
            name = ".".join(str(part) for part in item["loc"]) or "config"
            fields.setdefault(name, []).append(item["msg"])
        return fields
    return {}


def node_ports(node: NodeSpec) -> list[Port]:
    """The ports of one placed node (derived from its config where the kind says so)."""
    kind = node_kind(node.kind)
    try:
        config = kind.config_model.model_validate(node.config)
    except ValidationError:
        config = None
    return kind.ports(config)


def node_summary(node: NodeSpec) -> str:
    kind = node_kind(node.kind)
    try:
        return kind.summary(kind.config_model.model_validate(node.config))
    except ValidationError:
        return f"{kind.label} (needs attention)"


def node_palette() -> list[dict[str, Any]]:
    """The builder's palette: groups in order, each with its kinds and everything to render them.

    Each kind entry: kind, label, icon, description, instantaneous, schema (JSON Schema of the
    config, with titles and descriptions), ports (for the example config) and example_config.
    """
    _load()
    palette = []
    for group, title in GROUPS.items():
        kinds = []
        for name, kind in NODE_KINDS.items():
            if kind.group != group:
                continue
            example = kind.example_config()
            kinds.append(
                {
                    "kind": name,
                    "label": kind.label,
                    "icon": kind.icon,
                    "description": kind.description,
                    "instantaneous": kind.instantaneous,
                    "schema": kind.config_model.model_json_schema(),
                    "ports": [
                        asdict(port)
                        for port in kind.ports(kind.config_model.model_validate(example))
                    ],
                    "example_config": example,
                }
            )
        palette.append({"group": group, "label": title, "kinds": kinds})
    return palette
