"""escalation: one node that tries channels in order (e.g. WhatsApp -> SMS -> voice bot).

Each rung sends its template and waits for the dispatcher's verdict; a skipped or failed rung moves
on at once ("skipped: no WhatsApp consent"); a sent one waits up to its deadline for its outcome
(delivered, read, replied, clicked, or answered for voice) and moves on when it does not come
("fallback: WhatsApp unread after 24h") or the message fails. The first rung that gets its outcome
takes ``resolved``; when every rung has been tried the node takes ``exhausted``. Each rung's result
is noted on the step and kept in ``Step.detail["rungs"]`` for per-rung metrics.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..registry import NodeKind, Port, TemplateUse, node_kind_register
from ..timeutil import duration_text
from ..types import (
    CallOutcome,
    CallRequest,
    MessageOutcome,
    SendRequest,
    SendVerdict,
    StepInput,
    StepOutcome,
    TimerTick,
    WaitSpec,
)
from .common import (
    OUTCOME_MISSING,
    Duration,
    SendPolicy,
    channel_name,
    deferred_stay,
    reason_text,
    verdict_wait,
)
from .send import variables_for
from .wait_for import outcome_reached

FAILED_STATUSES = ("failed", "undelivered", "no_answer", "busy")


class Rung(Duration):
    channel: Literal["whatsapp", "sms", "voice"] = Field(title="Channel")
    template: str = Field(title="Template")
    resolved_when: Literal["delivered", "read", "replied", "clicked", "answered"] = Field(
        "delivered", title="Done when", description="Outcome that ends the ladder"
    )
    keys: dict[str, str] = Field(default_factory=dict, title="Keypad (voice)")

    @model_validator(mode="after")
    def _fits_channel(self) -> Rung:
        if self.delta().total_seconds() <= 0:
            raise ValueError("days/hours/minutes: give this rung a deadline")
        if self.channel == "voice" and self.resolved_when not in ("answered", "delivered"):
            raise ValueError("resolved_when: a voice rung ends on answered")
        if self.channel != "voice" and self.resolved_when == "answered":
            raise ValueError("resolved_when: messages end on delivered, read, replied or clicked")
        return self


class EscalationConfig(SendPolicy):
    rungs: list[Rung] = Field(min_length=1, title="Rungs", description="Tried in order")


@node_kind_register
class Escalation(NodeKind):
    kind = "escalation"
    label = "Escalation ladder"
    icon = "stairs"
    group = "messages"
    description = "Tries channels in order, moving on when not delivered/read/answered in time."
    config_model = EscalationConfig
    instantaneous = False

    def ports(self, config: EscalationConfig | None) -> list[Port]:
        return [Port("resolved", "Resolved"), Port("exhausted", "Every rung tried")]

    def step(self, ctx: StepInput) -> StepOutcome:
        config: EscalationConfig = ctx.config
        if ctx.entering:
            return self._start(ctx, config, 0, [])
        data, inp = ctx.data, ctx.input
        index, results = data["rung"], list(data["results"])
        rung = config.rungs[index]
        if isinstance(inp, TimerTick):
            return self._next(ctx, config, index, results + [self._timeout_text(ctx, rung)])
        if getattr(inp, "key", None) != data.get("key") or data.get("key") is None:
            return StepOutcome.ignore()
        if isinstance(inp, SendVerdict):
            if inp.status in ("skipped", "failed"):
                text = f"{inp.status}: {channel_name(rung.channel)} {reason_text(inp.reason)}"
                return self._next(ctx, config, index, results + [text])
            if inp.status == "deferred":
                return deferred_stay(ctx, data["key"], rung.template, inp.until, inp.reason)
        elif isinstance(inp, MessageOutcome | CallOutcome) and inp.status in FAILED_STATUSES:
            text = f"fallback: {channel_name(rung.channel)} {inp.status.replace('_', ' ')}"
            return self._next(ctx, config, index, results + [text])
        return self._sent(ctx, rung)

    def _sent(self, ctx: StepInput, rung: Rung) -> StepOutcome:
        record = ctx.state.messages.get(ctx.data["key"])
        statuses = record.statuses if record else []
        if outcome_reached(statuses, rung.resolved_when) or (
            rung.resolved_when == "answered" and "keypress" in statuses
        ):
            text = f"resolved: {channel_name(rung.channel)} {rung.resolved_when}"
            results = list(ctx.data["results"]) + [text]
            return StepOutcome.leave("resolved", text, detail=self._detail(ctx, results))
        if ctx.data.get("phase") == "outcome":
            return StepOutcome.ignore()
        wait = WaitSpec(
            wake_at=ctx.now + rung.delta(),
            message_key=ctx.data["key"],
            outcome=rung.resolved_when,
            reason=f"waiting up to {duration_text(rung.delta())} for {rung.resolved_when}",
        )
        return StepOutcome.stay(wait, node_data={**ctx.data, "phase": "outcome"})

    def _start(self, ctx: StepInput, config: EscalationConfig, index: int, results: list[str]):
        rung = config.rungs[index]
        if ctx.state.holdout:
            wait = WaitSpec(wake_at=ctx.now + rung.delta(), reason="holdout: not sent")
            data = {"rung": index, "results": results, "key": None, "phase": "outcome"}
            return StepOutcome.stay(wait, node_data=data)
        key = ctx.key(f"r{index + 1}")
        common = dict(
            key=key, run_id=ctx.state.run_id, node_id=ctx.node.id, attempt=ctx.attempt,
            template=rung.template, purpose=config.purpose,
            variables=variables_for(ctx, {}), collection=config.collection,
            respect_quiet_hours=config.respect_quiet_hours,
            calling_window=config.calling_window.pair() if config.calling_window else None,
        )  # fmt: skip
        if rung.channel == "voice":
            effect = CallRequest(keys=dict(rung.keys), **common)
        else:
            effect = SendRequest(channel=rung.channel, **common)
        wait = verdict_wait(ctx, key, f"{channel_name(rung.channel)} {rung.template}")
        data = {"rung": index, "results": results, "key": key, "phase": "verdict"}
        return StepOutcome.stay(wait, effects=[effect], node_data=data)

    def _next(self, ctx: StepInput, config: EscalationConfig, index: int, results: list[str]):
        note = results[-1]
        if index + 1 >= len(config.rungs):
            detail = self._detail(ctx, results)
            return StepOutcome.leave("exhausted", f"exhausted: {note}", detail=detail)
        outcome = self._start(ctx, config, index + 1, results)
        outcome.notes = [note]
        return outcome

    def _timeout_text(self, ctx: StepInput, rung: Rung) -> str:
        if ctx.state.holdout:
            return f"holdout: not sent ({channel_name(rung.channel)})"
        if ctx.data.get("phase") == "verdict":
            return f"fallback: {channel_name(rung.channel)} not sent in time"
        missing = OUTCOME_MISSING.get(rung.resolved_when, f"not {rung.resolved_when}")
        return (
            f"fallback: {channel_name(rung.channel)} {missing} after {duration_text(rung.delta())}"
        )

    def _detail(self, ctx: StepInput, results: list[str]) -> dict:
        rungs = ctx.config.rungs
        return {
            "rungs": [
                {"channel": rungs[i].channel, "template": rungs[i].template, "result": text}
                for i, text in enumerate(results)
            ]
        }

    def summary(self, config: EscalationConfig) -> str:
        return " → ".join(
            f"{channel_name(r.channel)} ({duration_text(r.delta())})" for r in config.rungs
        )

    def templates(self, config: EscalationConfig) -> list[TemplateUse]:
        return [
            TemplateUse(f"rungs.{i}.template", rung.template, rung.channel, config.purpose)
            for i, rung in enumerate(config.rungs)
        ]

    def example_config(self) -> dict:
        return {
            "purpose": "service",
            "calling_window": {"start": "08:00", "end": "19:00"},
            "rungs": [
                {"channel": "whatsapp", "template": "payment_reminder_whatsapp",
                 "resolved_when": "read", "hours": 24},
                {"channel": "sms", "template": "payment_reminder_sms", "hours": 24},
                {"channel": "voice", "template": "emi_reminder_voice",
                 "resolved_when": "answered", "hours": 2, "keys": {"1": "pay now"}},
            ],
        }  # fmt: skip
