"""The journey-level settings of a draft, as one form: goal (event, correlation match, what
happens), entry rules (correlation key, re-entry with cool-down, one active run per customer and
key), holdout, priority with the purposes it suppresses, and exit conditions.

They live at the top level of the version JSON (docs/journey-format.md: ``goal``, ``entry``,
``holdout_percent``, ``priority``, ``suppresses``, ``exit_conditions``); form field names are the
dotted paths there (``entry.cooldown_hours``, ``exit_conditions.0.event``), so the format's own
validation errors land on the right field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from journeys.engine import journey_parse
from journeys.engine.format import PURPOSES

SETTING_KEYS = ("goal", "entry", "holdout_percent", "priority", "suppresses", "exit_conditions")
EXIT_ROWS_MAX = 20
REENTRY_CHOICES = [
    ("always", "Always (every trigger enters)"),
    ("cooldown", "After a cool-down"),
    ("never", "Never again"),
]
GOAL_THEN_CHOICES = [
    ("complete", "Complete the run at once"),
    ("continue", "Record success, let the run go on"),
    ("goto", "Record success and jump to a node"),
]


def settings_initial(graph: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values from a draft (the format's defaults where a key is missing)."""
    goal = graph.get("goal") or {}
    entry = {"reentry": "always", "cooldown_hours": 0, "one_active_per_key": True}
    entry |= graph.get("entry") or {}
    exits = list(graph.get("exit_conditions") or [])
    return {
        "goal_on": bool(goal),
        "goal": {
            "event": goal.get("event", ""),
            "match_correlation": goal.get("match_correlation", True),
            "then": goal.get("then", "complete"),
            "goto": goal.get("goto") or "",
            "when": _json_text(goal.get("when")),
        },
        "entry": {**entry, "correlation_key": entry.get("correlation_key") or ""},
        "holdout_percent": graph.get("holdout_percent", 0),
        "priority": graph.get("priority", 0),
        "suppresses": list(graph.get("suppresses") or []),
        "exits": [
            {
                "event": rule.get("event", ""),
                "match_correlation": rule.get("match_correlation", True),
                "reason": rule.get("reason", ""),
                "when": _json_text(rule.get("when")),
            }
            for rule in exits
        ]
        + [{"event": "", "match_correlation": True, "reason": "", "when": ""}],
    }


def _json_text(value: Any) -> str:
    return "" if value in (None, {}) else json.dumps(value, ensure_ascii=False)


class _Errors(dict):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


def settings_parse(
    data: Mapping[str, str], *, node_ids: set[str]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The settings part of the version from the posted form, and field -> errors (each
    message names the field and the fix). Nothing is saved here."""
    errors = _Errors()
    settings: dict[str, Any] = {
        "goal": _goal(data, node_ids, errors),
        "entry": _entry(data, errors),
        "holdout_percent": _number(data, "holdout_percent", "Holdout %", errors, 0, 50, float),
        "priority": _number(data, "priority", "Priority", errors, -1000, 1000, int),
        "suppresses": [p for p in PURPOSES if data.get(f"suppresses.{p}") in ("on", "true")],
        "exit_conditions": _exits(data, errors),
    }
    return settings, dict(errors)


def settings_check(
    graph: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The draft with ``settings`` in place, and the format's own errors by field."""
    merged = {**graph, **settings}
    try:
        journey_parse(merged)
    except ValidationError as exc:
        errors = _Errors()
        for item in exc.errors():
            parts = [str(part) for part in item["loc"]]
            if parts and parts[0] in SETTING_KEYS:
                depth = {"goal": 2, "entry": 2, "exit_conditions": 3}.get(parts[0], 1)
                field = ".".join(parts[:depth])
                errors.add(field, f"{field}: {item['msg']}")
        return merged, dict(errors)
    return merged, {}


def _checked(data: Mapping[str, str], name: str) -> bool:
    return data.get(name) in ("on", "true", "1")


def _number(data, name: str, title: str, errors: _Errors, low, high, kind):
    raw = (data.get(name) or "").strip() or "0"
    try:
        value = kind(raw)
    except ValueError:
        errors.add(name, f"{title}: enter a number from {low} to {high}")
        return 0
    if not low <= value <= high:
        errors.add(name, f"{title}: enter a number from {low} to {high}, not {raw}")
    return value


def _condition(data, name: str, title: str, errors: _Errors):
    raw = (data.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        errors.add(name, f"{title}: not valid JSON ({exc.msg}); leave it empty for no condition")
        return None
    if not isinstance(value, dict):
        errors.add(name, f'{title}: write a condition object, e.g. {{"path": ..., "op": "eq"}}')
        return None
    return value


def _goal(data, node_ids: set[str], errors: _Errors) -> dict[str, Any] | None:
    event = (data.get("goal.event") or "").strip()
    if not event:
        return None
    then = data.get("goal.then") or "complete"
    if then not in dict(GOAL_THEN_CHOICES):
        errors.add("goal.then", "Goal, then: choose complete, continue or goto")
    goto = (data.get("goal.goto") or "").strip() or None
    if then == "goto" and goto not in node_ids:
        errors.add("goal.goto", "Goal, jump to: pick the node of this draft the run moves to")
    return {
        "event": event,
        "match_correlation": _checked(data, "goal.match_correlation"),
        "when": _condition(data, "goal.when", "Goal condition", errors),
        "then": then,
        "goto": goto if then == "goto" else None,
    }


def _entry(data, errors: _Errors) -> dict[str, Any]:
    reentry = data.get("entry.reentry") or "always"
    if reentry not in dict(REENTRY_CHOICES):
        errors.add("entry.reentry", "Re-entry: choose always, cooldown or never")
    hours = _number(data, "entry.cooldown_hours", "Cool-down hours", errors, 0, 24 * 366, int)
    if reentry == "cooldown" and hours == 0 and "entry.cooldown_hours" not in errors:
        errors.add(
            "entry.cooldown_hours",
            "Cool-down hours: enter at least 1 for re-entry after a cool-down",
        )
    return {
        "reentry": reentry,
        "cooldown_hours": hours,
        "one_active_per_key": _checked(data, "entry.one_active_per_key"),
        "correlation_key": (data.get("entry.correlation_key") or "").strip() or None,
    }


def _exits(data, errors: _Errors) -> list[dict[str, Any]]:
    rules = []
    for index in range(EXIT_ROWS_MAX):
        prefix = f"exit_conditions.{index}"
        if f"{prefix}.event" not in data:
            break
        event = (data.get(f"{prefix}.event") or "").strip()
        reason = (data.get(f"{prefix}.reason") or "").strip()
        when = _condition(data, f"{prefix}.when", f"Exit {index + 1} condition", errors)
        if not event:
            if reason or when:
                errors.add(f"{prefix}.event", f"Exit {index + 1}: name the event that ends runs")
            continue
        rules.append(
            {
                "event": event,
                "match_correlation": _checked(data, f"{prefix}.match_correlation"),
                "when": when,
                "reason": reason[:200],
            }
        )
    return rules


# --- the form's layout -------------------------------------------------------------------------


def _field(name, label, widget, value, errors, hint="", **extra) -> dict[str, Any]:
    return {
        "name": name,
        "id": "js-" + name.replace(".", "-"),
        "label": label,
        "widget": widget,
        "value": value,
        "errors": errors.get(name, []),
        "hint": hint,
        **extra,
    }


def settings_sections(
    values: Mapping[str, Any], errors: Mapping[str, list[str]], nodes: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The form as sections of fields (name, label, widget, value, errors, hint)."""
    goal, entry = values["goal"], values["entry"]
    f = _field
    sections = [
        {
            "title": "Goal",
            "fields": [
                f("goal.event", "Goal event", "text", goal["event"], errors,
                  "The event that counts as success, e.g. payment.received. Empty: no goal.",
                  list=True),
                f("goal.match_correlation", "Only when it carries the run's correlation value",
                  "checkbox", goal["match_correlation"], errors),
                f("goal.then", "Then", "select", goal["then"], errors, choices=GOAL_THEN_CHOICES),
                f("goal.goto", "Jump to node", "select", goal["goto"], errors,
                  "Only for “record success and jump”.", choices=[("", "—")] + nodes),
                f("goal.when", "Only when (condition, JSON)", "json", goal["when"], errors,
                  'Optional, e.g. {"path": "event.amount", "op": "gte", "value": 1000}'),
            ],
        },
        {
            "title": "Entry",
            "fields": [
                f("entry.correlation_key", "Correlation key", "text", entry["correlation_key"],
                  errors, "The trigger property naming the matter, e.g. order_id or loan_id."),
                f("entry.reentry", "Re-entry", "select", entry["reentry"], errors,
                  choices=REENTRY_CHOICES),
                f("entry.cooldown_hours", "Cool-down hours", "number", entry["cooldown_hours"],
                  errors, "For re-entry after a cool-down: hours after the last entry."),
                f("entry.one_active_per_key", "One active run per customer and correlation value",
                  "checkbox", entry["one_active_per_key"], errors),
            ],
        },
        {
            "title": "Holdout, priority and exclusion",
            "fields": [
                f("holdout_percent", "Holdout % (0-50)", "number", values["holdout_percent"],
                  errors, "Share of runs in the control group: no messages, same waits.",
                  step="0.1"),
                f("priority", "Priority", "number", values["priority"], errors,
                  "Higher wins when journeys compete for a customer."),
            ]
            + [
                f(f"suppresses.{p}", f"While a run is active, hold back {p} sends of "
                  "lower-priority journeys", "checkbox", p in values["suppresses"], errors)
                for p in PURPOSES
            ],
        },
    ]  # fmt: skip
    exits = []
    for index, rule in enumerate(values["exits"]):
        prefix, n = f"exit_conditions.{index}", index + 1
        exits += [
            f(f"{prefix}.event", f"Exit {n}: event", "text", rule["event"], errors, list=True),
            f(f"{prefix}.reason", f"Exit {n}: reason shown", "text", rule["reason"], errors),
            f(f"{prefix}.match_correlation", f"Exit {n}: same correlation value only",
              "checkbox", rule["match_correlation"], errors),
            f(f"{prefix}.when", f"Exit {n}: only when (JSON)", "json", rule["when"], errors),
        ]  # fmt: skip
    sections.append(
        {
            "title": "Exit conditions",
            "hint": "An event that ends the run wherever it is, e.g. order.cancelled. "
            "Leave the last row empty to add none.",
            "fields": exits,
        }
    )
    return sections
