"""The inspector's form, generated from a node kind's JSON schema (titles become labels).

Scalar fields get inputs, enums selects, booleans checkboxes; a small object (a calling window)
gets one input per part; a string map (keypad, variables) one ``key = value`` line each; a list of
strings a comma list; anything deeper (conditions, arms, rungs) a JSON box. ``template`` gets a
picker of the channel's templates, ``message_node`` a picker of the journey's sending nodes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCALARS = ("string", "integer", "number", "boolean")
MISSING = object()


@dataclass
class FieldSpec:
    name: str
    title: str
    description: str
    widget: str  # text number checkbox select window mapping list json template message_node
    value: Any = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    parts: list[tuple[str, str, str]] = field(default_factory=list)  # (name, title, value)
    nullable: bool = False
    required: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def input_name(self) -> str:
        return f"cfg.{self.name}"


def _unwrap(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[dict, bool]:
    """The property's effective schema (anyOf-with-null and $ref resolved) and nullability."""
    out = dict(prop)
    nullable = False
    if "anyOf" in prop:
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(prop["anyOf"])
        if len(options) == 1:
            out = {**options[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    ref = out.get("$ref")
    if ref:
        out = {
            **defs.get(ref.rsplit("/", 1)[-1], {}),
            **{k: v for k, v in out.items() if k != "$ref"},
        }
    return out, nullable


def _widget(name: str, kind: str, schema: Mapping[str, Any]) -> str:
    if name == "template" and kind in ("send", "voice_call"):
        return "template"
    if name == "message_node":
        return "message_node"
    if "enum" in schema:
        return "select"
    kind_of = schema.get("type")
    if kind_of == "boolean":
        return "checkbox"
    if kind_of in ("integer", "number"):
        return "number"
    if kind_of == "string":
        return "text"
    if kind_of == "object" and schema.get("properties"):
        if all(p.get("type") in SCALARS for p in schema["properties"].values()):
            return "window"
    if kind_of == "object" and (schema.get("additionalProperties") or {}).get("type") == "string":
        return "mapping"
    if kind_of == "array" and (schema.get("items") or {}).get("type") == "string":
        return "list"
    return "json"


def fields_build(
    kind: str, schema: Mapping[str, Any], config: Mapping[str, Any]
) -> list[FieldSpec]:
    """One FieldSpec per config property, filled from ``config`` (else the schema default)."""
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    specs = []
    for name, prop in schema.get("properties", {}).items():
        resolved, nullable = _unwrap(prop, defs)
        widget = _widget(name, kind, resolved)
        value = config.get(name, resolved.get("default", prop.get("default")))
        spec = FieldSpec(
            name=name,
            title=prop.get("title") or resolved.get("title") or name,
            description=prop.get("description") or resolved.get("description") or "",
            widget=widget,
            value=_display(widget, value),
            nullable=nullable,
            required=name in required,
        )
        if widget == "select":
            spec.choices = [(str(v), str(v)) for v in resolved["enum"]]
        if widget == "window":
            spec.parts = [
                (part, sub.get("title", part), str((value or {}).get(part, "") or ""))
                for part, sub in resolved["properties"].items()
            ]
        specs.append(spec)
    return specs


def _display(widget: str, value: Any) -> Any:
    if widget == "mapping":
        return "\n".join(f"{k} = {v}" for k, v in (value or {}).items())
    if widget == "list":
        return ", ".join(str(v) for v in value or [])
    if widget == "json":
        return "" if value is None else json.dumps(value, indent=1, ensure_ascii=False)
    if widget == "checkbox":
        return bool(value)
    return "" if value is None else value


def config_parse(
    specs: list[FieldSpec], data: Mapping[str, str], *, has=lambda name: False
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The config from the posted form, and field -> errors for input that cannot be read.

    An empty optional field is left out so the kind's default applies."""
    config: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in specs:
        try:
            value = _read(spec, data)
        except ValueError as exc:
            errors.setdefault(spec.name, []).append(f"{spec.title}: {exc}")
            continue
        if value is not MISSING:
            config[spec.name] = value
    return config, errors


def _read(spec: FieldSpec, data: Mapping[str, str]) -> Any:
    raw = (data.get(spec.input_name) or "").strip()
    if spec.widget == "checkbox":
        return data.get(spec.input_name) in ("on", "true", "1")
    if spec.widget == "window":
        parts = {p: (data.get(f"{spec.input_name}.{p}") or "").strip() for p, _, _ in spec.parts}
        if not any(parts.values()):
            return None if spec.nullable else MISSING
        return parts
    if raw == "":
        return None if spec.widget == "json" and spec.required else MISSING
    if spec.widget == "number":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("enter a whole number") from None
    if spec.widget == "mapping":
        return _mapping(raw)
    if spec.widget == "list":
        return [item.strip() for item in raw.split(",") if item.strip()]
    if spec.widget == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg} on line {exc.lineno})") from None
    return raw


def _mapping(raw: str) -> dict[str, str]:
    out = {}
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        match = re.match(r"\s*([^=:>]+?)\s*(?:=|->|:)\s*(.*)$", line)
        if not match:
            raise ValueError(f"line {number}: write one 'key = value' a line")
        out[match.group(1)] = match.group(2).strip()
    return out


def errors_by_field(messages: Mapping[str, list[str]], names: set[str]) -> dict[str, list[str]]:
    """Pydantic's dotted locations (and model-level "field: message" texts) mapped onto the
    form's top-level fields; what names no field stays under ``__all__``."""
    out: dict[str, list[str]] = {}
    for loc, texts in messages.items():
        for text in texts:
            text = text.removeprefix("Value error, ")
            target = loc.split(".")[0]
            if target not in names:
                lead = re.match(r"([a-z_]+)(?:[/.][a-z_/.0-9]+)?:", text)
                target = lead.group(1) if lead and lead.group(1) in names else "__all__"
            out.setdefault(target, []).append(text)
    return out
