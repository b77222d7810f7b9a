"""The condition language of journeys: JSON trees, evaluated without ``eval``.

A condition is one of::

    {"path": "attributes.city", "op": "eq", "value": "Mumbai"}
    {"path": "now", "op": "lte", "value_path": "context.emi_due_date"}
    {"all": [<condition>, ...]}   {"any": [<condition>, ...]}   {"not": <condition>}

Paths start with a root:

| root | value |
| --- | --- |
| ``context.<key>`` | the run's context (trigger payload plus values set on the way) |
| ``event.<key>`` | properties of the event being tested (triggers, wait-for, goal, exits) |
| ``attributes.<key>`` | the customer's free attributes |
| ``customer.<field>`` | ``id``, ``tz``, ``language`` |
| ``consent.<channel>.<purpose>`` | ``granted``, ``withdrawn``, ``none`` or ``expired`` |
| ``reachable.<channel>`` | true when the customer can be reached there (has WhatsApp) |
| ``outcomes.<node id>`` | statuses of the last message or call that node sent, a list |
| ``ports.<node id>`` | the port the node last took (``"skipped"``) |
| ``seen.<event name>`` | when the run last saw that event (absent if never) |
| ``now`` | the engine's clock |
| ``holdout`` | true for runs in the control group |

Comparisons coerce ISO strings to dates/datetimes when the other side is one, and numeric strings to
numbers when the other side is a number; a date compared with a datetime compares the datetime's
date in the customer's zone. A comparison that cannot be made is false (never an error at run time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .timeutil import DEFAULT_TZ, zone

ROOTS = (
    "context",
    "event",
    "attributes",
    "customer",
    "consent",
    "reachable",
    "outcomes",
    "ports",
    "seen",
    "now",
    "holdout",
)
OPS = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "exists",
    "not_exists",
    "is_true",
    "is_false",
)
OP_TEXT = {
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "in",
    "not_in": "not in",
    "contains": "contains",
    "not_contains": "does not contain",
    "exists": "is set",
    "not_exists": "is not set",
    "is_true": "is true",
    "is_false": "is false",
}
MISSING = object()


def path_check(value: str) -> str:
    root = value.split(".", 1)[0]
    if root not in ROOTS:
        raise ValueError(f"path must start with one of {', '.join(ROOTS)} (got {value!r})")
    if root not in ("now", "holdout") and "." not in value:
        raise ValueError(f"path {value!r} needs a key after {root}., e.g. {root}.order_id")
    return value


class Leaf(BaseModel):
    """One comparison: value at ``path`` ``op`` a literal ``value`` or the value at another path."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(title="Value", description="What to test, e.g. attributes.city")
    op: Literal[OPS] = Field("eq", title="Test")  # type: ignore[valid-type]
    value: Any = Field(None, title="Compare with", description="A literal value")
    value_path: str | None = Field(None, title="Or compare with the value at")

    @field_validator("path")
    @classmethod
    def _path_ok(cls, value: str) -> str:
        return path_check(value)

    @field_validator("value_path")
    @classmethod
    def _value_path_ok(cls, value: str | None) -> str | None:
        return None if value is None else path_check(value)


class All(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: list[Condition] = Field(min_length=1)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any: list[Condition] = Field(min_length=1)


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    not_: Condition = Field(alias="not")


Condition = Union[Leaf, All, AnyOf, Not]  # noqa: UP007 (a recursive alias needs Union)
for _model in (All, AnyOf, Not):
    _model.model_rebuild()


@dataclass(frozen=True)
class Scope:
    """Everything a condition can read. Built by the stepper from the run and the customer."""

    context: Mapping[str, Any] = field(default_factory=dict)
    event: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    customer: Mapping[str, Any] = field(default_factory=dict)
    consent: Mapping[str, str] = field(default_factory=dict)
    reachable: Mapping[str, bool] = field(default_factory=dict)
    outcomes: Mapping[str, list[str]] = field(default_factory=dict)
    ports: Mapping[str, str] = field(default_factory=dict)
    seen: Mapping[str, datetime] = field(default_factory=dict)
    now: datetime | None = None
    holdout: bool = False
    tz: str = DEFAULT_TZ


def _walk(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        else:
            return MISSING
    return data


def path_value(scope: Scope, path: str) -> Any:
    """The value at ``path`` in ``scope``, or the ``MISSING`` sentinel."""
    root, _, rest = path.partition(".")
    if root == "now":
        return scope.now if scope.now is not None else MISSING
    if root == "holdout":
        return scope.holdout
    if root == "consent":
        return scope.consent.get(rest, "none")
    if root == "reachable":
        return bool(scope.reachable.get(rest, False))
    if root in ("outcomes", "ports", "seen"):
        found = getattr(scope, root).get(rest, MISSING)
        return found
    return _walk(getattr(scope, root), rest)


def _as_date(value: Any) -> date | datetime | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _in_zone(value: date | datetime, tz: str) -> date | datetime:
    """Naive datetimes are read as the customer's local time."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone(tz))
    return value


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _coerce(left: Any, right: Any, tz: str) -> tuple[Any, Any]:
    if isinstance(left, date) or isinstance(right, date):
        a, b = _as_date(left), _as_date(right)
        if a is None or b is None:
            return left, right
        a, b = _in_zone(a, tz), _in_zone(b, tz)
        if isinstance(a, datetime) != isinstance(b, datetime):
            a = a.astimezone(zone(tz)).date() if isinstance(a, datetime) else a
            b = b.astimezone(zone(tz)).date() if isinstance(b, datetime) else b
        return a, b
    if _as_number(left) is not None and _as_number(right) is not None:
        if isinstance(left, int | float) or isinstance(right, int | float):
            return _as_number(left), _as_number(right)
    return left, right


def _ordered(op: str) -> Callable[[Any, Any], bool]:
    return {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }[op]


def _compare(op: str, left: Any, right: Any, tz: str) -> bool:
    if op == "exists":
        return left is not MISSING and left is not None
    if op == "not_exists":
        return left is MISSING or left is None
    if left is MISSING:
        return op in ("ne", "not_in", "not_contains")
    if op in ("is_true", "is_false"):
        return bool(left) is (op == "is_true")
    if op in ("in", "not_in"):
        inside = isinstance(right, list | tuple) and any(
            _compare("eq", left, item, tz) for item in right
        )
        return inside is (op == "in")
    if op in ("contains", "not_contains"):
        try:
            inside = right in left
        except TypeError:
            inside = False
        return inside is (op == "contains")
    a, b = _coerce(left, right, tz)
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    try:
        return _ordered(op)(a, b)
    except TypeError:
        return False


def condition_eval(condition: Condition | None, scope: Scope) -> bool:
    """True when ``condition`` holds in ``scope``; None (no condition) always holds."""
    if condition is None:
        return True
    if isinstance(condition, All):
        return all(condition_eval(item, scope) for item in condition.all)
    if isinstance(condition, AnyOf):
        return any(condition_eval(item, scope) for item in condition.any)
    if isinstance(condition, Not):
        return not condition_eval(condition.not_, scope)
    right = condition.value
    if condition.value_path is not None:
        right = path_value(scope, condition.value_path)
        if right is MISSING and condition.op not in ("exists", "not_exists"):
            return False
    return _compare(condition.op, path_value(scope, condition.path), right, scope.tz)


def condition_describe(condition: Condition | None) -> str:
    """A one-line reading of a condition for the canvas, e.g. "reachable.whatsapp is true"."""
    if condition is None:
        return "always"
    if isinstance(condition, All):
        return " and ".join(f"({condition_describe(item)})" for item in condition.all)
    if isinstance(condition, AnyOf):
        return " or ".join(f"({condition_describe(item)})" for item in condition.any)
    if isinstance(condition, Not):
        return f"not ({condition_describe(condition.not_)})"
    text = f"{condition.path} {OP_TEXT[condition.op]}"
    if condition.op in ("exists", "not_exists", "is_true", "is_false"):
        return text
    other = condition.value_path if condition.value_path else repr(condition.value)
    return f"{text} {other}"


def condition_paths(condition: Condition | None) -> list[str]:
    """Every path a condition reads (for validation: unknown nodes in outcomes./ports.)."""
    if condition is None:
        return []
    if isinstance(condition, All | AnyOf):
        items = condition.all if isinstance(condition, All) else condition.any
        return [path for item in items for path in condition_paths(item)]
    if isinstance(condition, Not):
        return condition_paths(condition.not_)
    return [condition.path] + ([condition.value_path] if condition.value_path else [])
