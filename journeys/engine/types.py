"""The engine's data: run state, inputs, effects, steps, and what a node's step sees and returns.

Inputs and effects are frozen dataclasses (plain values the service layer maps to rows and tasks).
``RunState`` is a pydantic model so that the service can store it as one JSON column and load it
back (``RunState.model_validate(row.state)`` / ``state.model_dump(mode="json")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import BaseModel, Field

from .timeutil import DEFAULT_TZ

if TYPE_CHECKING:
    from .format import JourneyVersion, NodeSpec

RUN_STATUSES = ("active", "waiting", "completed", "exited", "failed", "cancelled")
ENDED_STATUSES = frozenset({"completed", "exited", "failed", "cancelled"})
CHANNELS = ("sms", "whatsapp", "voice")
# A later status implies the earlier ones (WhatsApp may skip "delivered" when read at once).
IMPLIED_STATUSES = {
    "read": ("delivered",),
    "replied": ("delivered", "read"),
    "clicked": ("delivered", "read"),
    "answered": ("delivered",),
    "completed": ("delivered",),
}


# --- state ---------------------------------------------------------------------------------------


class WaitSpec(BaseModel):
    """What a waiting run waits for. ``wake_at`` is always set (every wait has a timeout), so a
    sweep over ``wake_at`` finds every run; ``event``/``correlation`` index event resumption and
    ``message_key`` routes message/call/webhook outcomes to the run."""

    wake_at: datetime
    event: str | None = None
    correlation: str | None = None
    message_key: str | None = None
    outcome: str | None = None
    reason: str = ""


class MessageRecord(BaseModel):
    node_id: str
    channel: str
    statuses: list[str] = Field(default_factory=list)


class RunState(BaseModel):
    run_id: str
    status: Literal["active", "waiting", "completed", "exited", "failed", "cancelled"] = "active"
    node_id: str | None = None
    entered_at: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    correlation: str | None = None
    wait: WaitSpec | None = None
    attempts: dict[str, int] = Field(default_factory=dict)
    node_data: dict[str, Any] = Field(default_factory=dict)
    messages: dict[str, MessageRecord] = Field(default_factory=dict)
    ports: dict[str, str] = Field(default_factory=dict)
    seen: dict[str, datetime] = Field(default_factory=dict)
    holdout: bool = False
    goal_reached_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str = ""

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES


@dataclass(frozen=True)
class CustomerView:
    """What the engine may know of the customer (a snapshot the service passes in).

    ``consent`` maps "channel.purpose" (e.g. "whatsapp.promotional") to granted/withdrawn/none/
    expired; ``reachable`` maps a channel to whether the customer can be reached there.
    """

    customer_id: str = ""
    tz: str = DEFAULT_TZ
    language: str = "en"
    attributes: Mapping[str, Any] = field(default_factory=dict)
    consent: Mapping[str, str] = field(default_factory=dict)
    reachable: Mapping[str, bool] = field(default_factory=dict)


class CustomerNeeded(Exception):
    """Raised by a ``CustomerUnread`` when a step reads what it does not hold (``run_advance``)."""


class CustomerUnread:
    """A customer snapshot holding only the customer's id, time zone and language (columns the
    service reads cheaply); reading its attributes, consent or reachability raises
    ``CustomerNeeded``. Most advances (a verdict moving a send on, a timer ending a wait) read
    nothing more, so the service advances runs with this first and reads the whole customer
    only for the runs that raised."""

    __slots__ = ("customer_id", "tz", "language")

    def __init__(self, customer_id: str = "", tz: str = DEFAULT_TZ, language: str = "en"):
        self.customer_id, self.tz, self.language = customer_id, tz, language

    def __getattr__(self, name: str):
        raise CustomerNeeded(name)

    def __repr__(self) -> str:
        return f"CustomerUnread({self.customer_id!r})"


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventInput:
    """A customer event (API, console, inbound channel) delivered to the run."""

    name: str
    at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendVerdict:
    """The dispatcher's answer to a SendRequest or CallRequest with ``key``.

    ``sent``: handed to the provider (queued there counts as sent); ``skipped``: a guardrail
    blocked it (``reason`` e.g. "no WhatsApp consent"); ``failed``: the provider refused it;
    ``deferred``: held until ``until`` (``reason`` e.g. "quiet hours"), the node keeps waiting.
    ``channel`` is the channel the dispatcher chose for a ``best`` send.
    """

    key: str
    at: datetime
    status: Literal["sent", "skipped", "failed", "deferred"]
    reason: str = ""
    until: datetime | None = None
    channel: str | None = None


@dataclass(frozen=True)
class MessageOutcome:
    """A later status of a sent message: delivered, read, replied, clicked, failed, undelivered."""

    key: str
    at: datetime
    status: str


@dataclass(frozen=True)
class CallOutcome:
    """A status of a placed call: answered, keypress (with ``digits``), completed, no_answer, busy,
    failed."""

    key: str
    at: datetime
    status: str
    digits: str = ""


@dataclass(frozen=True)
class WebhookResult:
    key: str
    at: datetime
    ok: bool
    status_code: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class TimerTick:
    """The run's ``wake_at`` came due (also implied when ``now >= wake_at``)."""

    at: datetime


Input = Union[EventInput, SendVerdict, MessageOutcome, CallOutcome, WebhookResult, TimerTick]  # noqa: UP007
KEYED_INPUTS = (SendVerdict, MessageOutcome, CallOutcome, WebhookResult)


# --- effects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendRequest:
    """Queue one message. ``key`` (run:node:attempt) is the outbox's unique idempotency key.

    ``channel`` "best" lets the dispatcher choose among ``templates`` (channel -> template key).
    """

    key: str
    run_id: str
    node_id: str
    attempt: int
    channel: str
    template: str
    purpose: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    templates: Mapping[str, str] = field(default_factory=dict)
    respect_quiet_hours: bool = True
    collection: bool = False
    calling_window: tuple[str, str] | None = None


@dataclass(frozen=True)
class CallRequest:
    """Place one outbound voice-bot call with a keypad menu (digit -> label)."""

    key: str
    run_id: str
    node_id: str
    attempt: int
    template: str
    purpose: str
    keys: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    calling_window: tuple[str, str] | None = None
    collection: bool = False
    respect_quiet_hours: bool = True


@dataclass(frozen=True)
class UpdateAttribute:
    run_id: str
    node_id: str
    name: str
    value: Any


@dataclass(frozen=True)
class WebhookCall:
    key: str
    run_id: str
    node_id: str
    url: str
    method: str
    body: Mapping[str, Any]
    timeout_seconds: float


@dataclass(frozen=True)
class Schedule:
    """Wake the run at ``wake_at`` (mirrors ``state.wait.wake_at``; emitted when it changed)."""

    run_id: str
    wake_at: datetime


Effect = Union[SendRequest, CallRequest, UpdateAttribute, WebhookCall, Schedule]  # noqa: UP007


# --- steps and results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One node executed for one run, recorded when the run leaves the node (or ends there).

    Unique on (run, node_id, attempt). ``notes`` hold what happened while waiting (deferrals,
    escalation rungs); ``detail`` holds structured data (the ladder's per-rung results).
    """

    node_id: str
    kind: str
    attempt: int
    entered_at: datetime
    left_at: datetime
    port: str | None
    reason: str
    notes: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Advance:
    state: RunState
    steps: list[Step] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    @property
    def sends(self) -> list[SendRequest]:
        return [effect for effect in self.effects if isinstance(effect, SendRequest)]

    @property
    def calls(self) -> list[CallRequest]:
        return [effect for effect in self.effects if isinstance(effect, CallRequest)]


@dataclass(frozen=True)
class StepInput:
    """What a node's ``step`` sees. ``input`` is None when the node is being entered."""

    journey: JourneyVersion
    node: NodeSpec
    config: BaseModel
    state: RunState
    customer: CustomerView
    now: datetime
    attempt: int
    input: Input | None = None

    @property
    def entering(self) -> bool:
        return self.input is None

    @property
    def data(self) -> Mapping[str, Any]:
        return self.state.node_data

    def key(self, suffix: str = "") -> str:
        """Idempotency key: run:node:attempt (plus a rung suffix for ladders)."""
        base = f"{self.state.run_id}:{self.node.id}:{self.attempt}"
        return f"{base}.{suffix}" if suffix else base


@dataclass
class StepOutcome:
    """What a node's step decided: leave by ``port``, ``wait``, ``end`` the run, or ``ignored``
    (the input was not for this node: nothing changes)."""

    port: str | None = None
    wait: WaitSpec | None = None
    end: Literal["completed", "exited", "failed"] | None = None
    reason: str = ""
    effects: list[Effect] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    node_data: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    ignored: bool = False

    @classmethod
    def leave(cls, port: str, reason: str = "", **extra: Any) -> StepOutcome:
        return cls(port=port, reason=reason, **extra)

    @classmethod
    def stay(cls, wait: WaitSpec, **extra: Any) -> StepOutcome:
        return cls(wait=wait, **extra)

    @classmethod
    def ignore(cls) -> StepOutcome:
        return cls(ignored=True)
