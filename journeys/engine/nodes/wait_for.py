"""wait_for: an event (matched on the run's correlation key) or a message outcome, with a timeout.

An event already seen by the run before it reached this node counts (events arrive out of order:
an ``order.delivered`` may overtake ``order.dispatched``), unless the node filters on the event's
properties, which are not kept once seen. A message outcome (delivered, read, replied, clicked) is
looked up on the run's message record first, so a read receipt that arrived during an earlier
wait is not missed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..conditions import Condition, condition_eval
from ..registry import NodeKind, Port, node_kind_register
from ..timeutil import duration_text
from ..types import (
    IMPLIED_STATUSES,
    CallOutcome,
    EventInput,
    MessageOutcome,
    RunState,
    StepInput,
    StepOutcome,
    TimerTick,
    WaitSpec,
)
from .common import OUTCOME_MISSING, Duration, channel_name, run_scope


class WaitForConfig(Duration):
    event: str | None = Field(None, title="Event", description="e.g. payment.received")
    outcome: Literal["delivered", "read", "replied", "clicked"] | None = Field(
        None, title="Or message outcome", description="Of the message sent by `message_node`"
    )
    message_node: str | None = Field(
        None, title="Message from", description="Send node whose message to watch (default: last)"
    )
    match_correlation: bool = Field(
        True, title="Same matter only", description="Event must carry the run's correlation value"
    )
    filter: Condition | None = Field(None, title="Only when", description="On event.<property>")
    merge_properties: bool = Field(
        True, title="Keep event data", description="Copy the event's properties into the context"
    )
    timeout_reason: str | None = Field(
        None, title="Reason on timeout", description="Shown on the step, e.g. fallback: unread"
    )

    @model_validator(mode="after")
    def _one_target(self) -> WaitForConfig:
        if bool(self.event) == bool(self.outcome):
            raise ValueError("event/outcome: wait for either an event or a message outcome")
        if self.delta().total_seconds() <= 0:
            raise ValueError("days/hours/minutes: give a timeout longer than zero")
        return self


def awaited_key(state: RunState, message_node: str | None) -> str | None:
    """The idempotency key of the last message sent by ``message_node`` (or by any node)."""
    found = None
    for key, record in state.messages.items():
        if message_node is None or record.node_id == message_node:
            found = key
    return found


def outcome_reached(statuses: list[str], outcome: str) -> bool:
    return any(s == outcome or outcome in IMPLIED_STATUSES.get(s, ()) for s in statuses)


@node_kind_register
class WaitFor(NodeKind):
    kind = "wait_for"
    label = "Wait for"
    icon = "hourglass"
    group = "waits"
    description = "Waits for an event or a message outcome on the same matter, with a timeout."
    config_model = WaitForConfig
    instantaneous = False
    breaks_loops = True

    def ports(self, config: WaitForConfig | None) -> list[Port]:
        return [Port("matched", "Matched"), Port("timeout", "Timed out")]

    def step(self, ctx: StepInput) -> StepOutcome:
        config: WaitForConfig = ctx.config
        if ctx.entering:
            return self._enter(ctx, config)
        inp = ctx.input
        if isinstance(inp, TimerTick):
            return StepOutcome.leave("timeout", self._timeout_reason(ctx, config))
        if isinstance(inp, EventInput) and config.event and inp.name == config.event:
            return self._event(ctx, config, inp)
        if isinstance(inp, MessageOutcome | CallOutcome) and config.outcome:
            key = ctx.data.get("key")
            record = ctx.state.messages.get(key or "")
            if inp.key == key and record and outcome_reached(record.statuses, config.outcome):
                return StepOutcome.leave("matched", self._matched_outcome(ctx, config))
        return StepOutcome.ignore()

    def _enter(self, ctx: StepInput, config: WaitForConfig) -> StepOutcome:
        wake = ctx.now + config.delta()
        if config.event:
            if config.filter is None and config.event in ctx.state.seen:
                return StepOutcome.leave("matched", f"matched: {config.event} (already seen)")
            correlation = ctx.state.correlation if config.match_correlation else None
            reason = f"waiting for {config.event} up to {duration_text(config.delta())}"
            wait = WaitSpec(
                wake_at=wake, event=config.event, correlation=correlation, reason=reason
            )
            return StepOutcome.stay(wait)
        key = awaited_key(ctx.state, config.message_node)
        record = ctx.state.messages.get(key or "")
        if record and outcome_reached(record.statuses, config.outcome or ""):
            return StepOutcome.leave("matched", self._matched_outcome(ctx, config, key))
        reason = f"waiting for {config.outcome} up to {duration_text(config.delta())}"
        wait = WaitSpec(wake_at=wake, message_key=key, outcome=config.outcome, reason=reason)
        return StepOutcome.stay(wait, node_data={"key": key})

    def _event(self, ctx: StepInput, config: WaitForConfig, inp: EventInput) -> StepOutcome:
        key = ctx.journey.entry.correlation_key
        if config.match_correlation and key and ctx.state.correlation is not None:
            if str(inp.properties.get(key)) != ctx.state.correlation:
                return StepOutcome.ignore()
        if not condition_eval(
            config.filter, run_scope(ctx.state, ctx.customer, ctx.now, dict(inp.properties))
        ):
            return StepOutcome.ignore()
        context = dict(inp.properties) if config.merge_properties else {}
        return StepOutcome.leave("matched", f"matched: {inp.name}", context=context)

    def _matched_outcome(
        self, ctx: StepInput, config: WaitForConfig, key: str | None = None
    ) -> str:
        record = ctx.state.messages.get(key or ctx.data.get("key") or "")
        channel = channel_name(record.channel) if record else "message"
        return f"matched: {channel} {config.outcome}"

    def _timeout_reason(self, ctx: StepInput, config: WaitForConfig) -> str:
        if config.timeout_reason:
            return config.timeout_reason
        after = duration_text(config.delta())
        if config.event:
            return f"timeout: no {config.event} within {after}"
        record = ctx.state.messages.get(ctx.data.get("key") or "")
        if record is None:
            return f"timeout: no message to watch for {config.outcome} within {after}"
        missing = OUTCOME_MISSING.get(config.outcome or "", f"not {config.outcome}")
        return f"fallback: {channel_name(record.channel)} {missing} after {after}"

    def summary(self, config: WaitForConfig) -> str:
        target = config.event or f"{config.outcome} of {config.message_node or 'last message'}"
        return f"{target}, up to {duration_text(config.delta())}"

    def example_config(self) -> dict:
        return {"outcome": "read", "hours": 24}
