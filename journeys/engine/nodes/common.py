"""Pieces several node kinds share: durations, windows, reasons, scopes and send helpers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..conditions import Scope
from ..timeutil import LocalTime, clock_text, duration_text, hhmm
from ..types import CustomerView, RunState, StepInput, StepOutcome, WaitSpec

# How long a node waits for the dispatcher's verdict before taking its failure port: long enough
# for an outbox backlog, short enough that a lost message does not hold a run for ever.
VERDICT_TIMEOUT = timedelta(hours=6)
CALL_OUTCOME_TIMEOUT = timedelta(hours=2)
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "sms": "SMS", "voice": "voice", "best": "best channel"}
OUTCOME_MISSING = {
    "delivered": "undelivered",
    "read": "unread",
    "replied": "without a reply",
    "clicked": "not clicked",
    "answered": "unanswered",
}
Purpose = Literal["transactional", "service", "promotional"]


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Window(Config):
    start: LocalTime = Field(title="From", description="Local time, HH:MM")
    end: LocalTime = Field(title="Until", description="Local time, HH:MM (exclusive)")

    def pair(self) -> tuple[str, str]:
        return (self.start, self.end)

    def text(self) -> str:
        return f"{self.start}-{self.end}"


class Duration(Config):
    """A mix-in for configs with a length of time (days + hours + minutes)."""

    days: int = Field(0, ge=0, le=365, title="Days")
    hours: int = Field(0, ge=0, le=10_000, title="Hours")
    minutes: int = Field(0, ge=0, le=100_000, title="Minutes")

    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


class SendPolicy(Config):
    """Guardrail fields shared by send, voice call and escalation nodes."""

    purpose: Purpose = Field(
        "service",
        title="Purpose",
        description="Consent purpose; promotional sends need promotional consent and respect DND",
    )
    respect_quiet_hours: bool = Field(
        True,
        title="Respect quiet hours",
        description="Defer (never drop) outside the customer's and the law's allowed hours",
    )
    collection: bool = Field(
        False, title="Collection reminder", description="RBI: collection calls only 08:00-19:00"
    )
    calling_window: Window | None = Field(
        None, title="Calling hours", description="Local window for calls, e.g. 08:00-19:00"
    )

    @model_validator(mode="after")
    def _window_inside_day(self) -> SendPolicy:
        if self.calling_window and hhmm(self.calling_window.start) == hhmm(self.calling_window.end):
            raise ValueError("calling_window: start and end are equal; give a real window")
        return self


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


_POLICY_REASONS = {
    "dnd": "customer is on DND",
    "do_not_call": "customer asked not to be called",
    "template_not_approved": "template not approved",
    "outside_service_window": "outside WhatsApp's 24-hour window",
    "cap:daily": "daily promotional cap reached",
    "cap:daily_total": "daily message cap reached",
    "echo": "same message just went out on another channel",
    "quiet_hours": "quiet hours",
    "unreachable": "customer not reachable on this channel",
}


def reason_text(reason: str) -> str:
    """People's words for the dispatcher's reason codes (policy.decide_send); free text passes."""
    if reason.startswith("no_consent:"):
        parts = reason.split(":")
        channel = channel_name(parts[1]) if len(parts) > 1 else ""
        return f"no {channel} consent".replace("  ", " ")
    return _POLICY_REASONS.get(reason, reason)


def deferred_text(until: datetime | None, reason: str, tz: str) -> str:
    when = clock_text(until, tz) if until else "later"
    return f"deferred to {when} by {reason_text(reason or 'quiet_hours')}"


def run_scope(
    state: RunState,
    customer: CustomerView,
    now: datetime,
    event: dict[str, Any] | None = None,
) -> Scope:
    return Scope(
        context=state.context,
        event=event or {},
        attributes=customer.attributes,
        customer={"id": customer.customer_id, "tz": customer.tz, "language": customer.language},
        consent=customer.consent,
        reachable=customer.reachable,
        outcomes=outcome_statuses(state),
        ports=state.ports,
        seen=state.seen,
        now=now,
        holdout=state.holdout,
        tz=customer.tz,
    )


def outcome_statuses(state: RunState) -> dict[str, list[str]]:
    """Node id -> statuses of the last message or call it sent (later keys win)."""
    return {record.node_id: list(record.statuses) for record in state.messages.values()}


def verdict_wait(ctx: StepInput, key: str, what: str, until: datetime | None = None) -> WaitSpec:
    start = max(until, ctx.now) if until else ctx.now
    return WaitSpec(
        wake_at=start + VERDICT_TIMEOUT,
        message_key=key,
        outcome="verdict",
        reason=f"waiting for the dispatcher to send {what}",
    )


def deferred_stay(ctx: StepInput, key: str, what: str, until: datetime | None, reason: str):
    text = deferred_text(until, reason, ctx.customer.tz)
    wait = verdict_wait(ctx, key, what, until)
    wait.reason = text
    return StepOutcome.stay(wait, notes=[text])


def timeout_text(delta: timedelta) -> str:
    return duration_text(delta)
