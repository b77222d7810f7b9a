"""Trigger kinds: event, segment, date, inbound. A run starts at its journey's trigger node.

Enrolment itself (which events or customers start a run) is decided by ``trigger_matches`` /
``segment_matches`` in ``journeys.engine.enrol``; the trigger node's step only records the entry,
except the date trigger, which waits until its moment (e.g. 3 days before ``emi_due_date``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..conditions import Condition, condition_describe
from ..registry import NodeKind, node_kind_register
from ..timeutil import LocalTime, clock_text, date_moment
from ..types import EventInput, StepInput, StepOutcome, TimerTick, WaitSpec
from .common import Config


class EventTriggerConfig(Config):
    event: str = Field(title="Event", description="Event name that enrols, e.g. order.placed")
    filter: Condition | None = Field(
        None,
        title="Only when",
        description="Conditions on event.<property>, e.g. event.amount > 500",
    )


@node_kind_register
class EventTrigger(NodeKind):
    kind = "trigger.event"
    label = "Event trigger"
    icon = "bolt"
    group = "triggers"
    description = "Enrols a customer when an event arrives, optionally filtered on its payload."
    config_model = EventTriggerConfig

    def step(self, ctx: StepInput) -> StepOutcome:
        return StepOutcome.leave("out", f"enrolled on {ctx.config.event}")

    def summary(self, config: EventTriggerConfig) -> str:
        rule = f" when {condition_describe(config.filter)}" if config.filter else ""
        return f"On {config.event}{rule}"

    def example_config(self) -> dict:
        return {"event": "order.placed"}


class SegmentTriggerConfig(Config):
    filter: Condition = Field(
        title="Customers where", description="Conditions on attributes.<name>, consent, reachable"
    )
    schedule: Literal["once", "daily", "weekly"] = Field(
        "once", title="Enrol", description="once: when published; daily/weekly: re-check"
    )
    at: LocalTime = Field("10:00", title="At", description="Local time of the scheduled check")


@node_kind_register
class SegmentTrigger(NodeKind):
    kind = "trigger.segment"
    label = "Segment trigger"
    icon = "users"
    group = "triggers"
    description = "Enrols every customer matching attribute filters, once or on a schedule."
    config_model = SegmentTriggerConfig

    def step(self, ctx: StepInput) -> StepOutcome:
        return StepOutcome.leave("out", "enrolled: matched the segment")

    def summary(self, config: SegmentTriggerConfig) -> str:
        return f"Segment ({config.schedule}): {condition_describe(config.filter)}"

    def example_config(self) -> dict:
        return {"filter": {"path": "attributes.city", "op": "eq", "value": "Mumbai"}}


class DateTriggerConfig(Config):
    source: Literal["attribute", "event_property"] = Field(
        "attribute", title="Date from", description="A customer attribute or an event property"
    )
    name: str = Field(title="Date field", description="e.g. emi_due_date")
    event: str | None = Field(
        None, title="Event", description="For event_property: the event carrying the date"
    )
    offset_days: int = Field(
        0, ge=-365, le=365, title="Days from the date", description="-3 = three days before"
    )
    at: LocalTime = Field("10:00", title="At", description="Local time in the customer's zone")

    @model_validator(mode="after")
    def _event_for_property(self) -> DateTriggerConfig:
        if self.source == "event_property" and not self.event:
            raise ValueError("event: name the event that carries the date property")
        return self


@node_kind_register
class DateTrigger(NodeKind):
    kind = "trigger.date"
    label = "Date trigger"
    icon = "calendar"
    group = "triggers"
    description = "Enrols relative to a date (e.g. 3 days before emi_due_date) at a local time."
    config_model = DateTriggerConfig
    instantaneous = False

    def step(self, ctx: StepInput) -> StepOutcome:
        config: DateTriggerConfig = ctx.config
        if isinstance(ctx.input, TimerTick):
            return StepOutcome.leave("out", f"enrolled: {self.summary(config)}")
        if not ctx.entering:
            return StepOutcome.ignore()
        source = ctx.customer.attributes if config.source == "attribute" else ctx.state.context
        moment = date_moment(
            source.get(config.name),
            offset_days=config.offset_days,
            at=config.at,
            tz=ctx.customer.tz,
        )
        if moment is None:
            return StepOutcome(end="exited", reason=f"exited: no date in {config.name}")
        if moment <= ctx.now:
            return StepOutcome.leave("out", f"enrolled: {self.summary(config)}")
        reason = f"waiting until {moment.date().isoformat()} {clock_text(moment, ctx.customer.tz)}"
        return StepOutcome.stay(WaitSpec(wake_at=moment, reason=reason))

    def summary(self, config: DateTriggerConfig) -> str:
        days = config.offset_days
        when = "on" if days == 0 else f"{abs(days)} days {'before' if days < 0 else 'after'}"
        return f"{when} {config.name} at {config.at}"

    def example_config(self) -> dict:
        return {"name": "emi_due_date", "offset_days": -3, "at": "10:00"}


class InboundTriggerConfig(Config):
    channel: Literal["sms", "whatsapp", "call"] = Field(
        "whatsapp", title="Channel", description="call: any inbound call enrols"
    )
    keywords: list[str] = Field(
        default_factory=list,
        title="Keywords",
        description="First word of the message, any case (empty: any message)",
    )


@node_kind_register
class InboundTrigger(NodeKind):
    kind = "trigger.inbound"
    label = "Inbound trigger"
    icon = "phone-incoming"
    group = "triggers"
    description = "Enrols on an inbound message keyword or an inbound call."
    config_model = InboundTriggerConfig

    def step(self, ctx: StepInput) -> StepOutcome:
        return StepOutcome.leave("out", f"enrolled: {self.summary(ctx.config)}")

    def summary(self, config: InboundTriggerConfig) -> str:
        if config.channel == "call":
            return "Inbound call"
        words = ", ".join(config.keywords) or "any message"
        return f"Inbound {config.channel}: {words}"

    def example_config(self) -> dict:
        return {"channel": "sms", "keywords": ["PAY"]}


def inbound_matches(config: InboundTriggerConfig, event: EventInput) -> bool:
    """Inbound events: ``inbound.call``, or ``inbound.message`` with channel and text properties."""
    if config.channel == "call":
        return event.name == "inbound.call"
    if event.name != "inbound.message" or event.properties.get("channel") != config.channel:
        return False
    if not config.keywords:
        return True
    words = str(event.properties.get("text", "")).strip().split()
    first = words[0].upper() if words else ""
    return first in {word.upper() for word in config.keywords}
