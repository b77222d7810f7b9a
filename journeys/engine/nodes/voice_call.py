"""voice_call: an outbound voice-bot call with a keypad menu; one port per key, plus no_answer.

Like ``send``, the node waits for the dispatcher's verdict (calling hours may defer the call, DNC or
consent may skip it: both take ``no_answer`` with the reason), then for the call's outcome: a
keypress takes that digit's port, a call that ends without a key takes ``no_key``, and no answer,
busy or failed take ``no_answer``.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ..registry import NodeKind, Port, TemplateUse, node_kind_register
from ..types import (
    CallOutcome,
    CallRequest,
    SendVerdict,
    StepInput,
    StepOutcome,
    TimerTick,
    WaitSpec,
)
from .common import CALL_OUTCOME_TIMEOUT, SendPolicy, deferred_stay, reason_text, verdict_wait
from .send import variables_for

KEYPAD = "0123456789*#"


class VoiceCallConfig(SendPolicy):
    template: str = Field(title="Voice template", description="Prompt with the keypad menu")
    keys: dict[str, str] = Field(
        title="Keypad menu",
        description="Digit -> what it means, e.g. 1 -> pay now, 2 -> talk to us",
        min_length=1,
    )
    variables: dict[str, str] = Field(default_factory=dict, title="Variables")

    @field_validator("keys")
    @classmethod
    def _digits(cls, keys: dict[str, str]) -> dict[str, str]:
        bad = [key for key in keys if len(key) != 1 or key not in KEYPAD]
        if bad:
            raise ValueError(f"use single keypad keys 0-9, * or # (not {', '.join(bad)})")
        return keys


@node_kind_register
class VoiceCall(NodeKind):
    kind = "voice_call"
    label = "Voice call"
    icon = "phone"
    group = "voice"
    description = "Calls with a voice bot and a keypad menu; one way out per key."
    config_model = VoiceCallConfig
    instantaneous = False

    def ports(self, config: VoiceCallConfig | None) -> list[Port]:
        keys = config.keys if config else {"1": "1"}
        ports = [Port(digit, f"{digit}: {label}") for digit, label in keys.items()]
        return ports + [
            Port("no_key", "Answered, no key", required=False),
            Port("no_answer", "No answer / not called"),
        ]

    def step(self, ctx: StepInput) -> StepOutcome:
        config: VoiceCallConfig = ctx.config
        if ctx.entering:
            if ctx.state.holdout:
                return StepOutcome.leave("no_answer", "holdout: not called")
            request = CallRequest(
                key=ctx.key(),
                run_id=ctx.state.run_id,
                node_id=ctx.node.id,
                attempt=ctx.attempt,
                template=config.template,
                purpose=config.purpose,
                keys=dict(config.keys),
                variables=variables_for(ctx, config.variables),
                calling_window=config.calling_window.pair() if config.calling_window else None,
                collection=config.collection,
                respect_quiet_hours=config.respect_quiet_hours,
            )
            wait = verdict_wait(ctx, request.key, f"call {config.template}")
            return StepOutcome.stay(wait, effects=[request], node_data={"key": request.key})
        return self._resume(ctx, config)

    def _resume(self, ctx: StepInput, config: VoiceCallConfig) -> StepOutcome:
        inp, key = ctx.input, ctx.data.get("key")
        if isinstance(inp, TimerTick):
            if ctx.data.get("answered"):
                return StepOutcome.leave("no_key", "answered, no key pressed")
            return StepOutcome.leave("no_answer", "no answer: no call outcome in time")
        if getattr(inp, "key", None) != key:
            return StepOutcome.ignore()
        if isinstance(inp, SendVerdict):
            if inp.status in ("skipped", "failed"):
                return StepOutcome.leave("no_answer", f"{inp.status}: {reason_text(inp.reason)}")
            if inp.status == "deferred":
                return deferred_stay(ctx, key, f"call {config.template}", inp.until, inp.reason)
            return self._await_outcome(ctx, "call placed", answered=False)
        if isinstance(inp, CallOutcome):
            return self._outcome(ctx, config, inp)
        return StepOutcome.ignore()

    def _await_outcome(self, ctx: StepInput, reason: str, *, answered: bool) -> StepOutcome:
        wait = WaitSpec(
            wake_at=ctx.now + CALL_OUTCOME_TIMEOUT,
            message_key=ctx.data.get("key"),
            outcome="call",
            reason=reason,
        )
        return StepOutcome.stay(wait, node_data={**ctx.data, "answered": answered})

    def _outcome(self, ctx: StepInput, config: VoiceCallConfig, inp: CallOutcome) -> StepOutcome:
        digit = inp.digits[:1]
        if digit and digit in config.keys:
            return StepOutcome.leave(digit, f"pressed {digit}: {config.keys[digit]}")
        if inp.status in ("no_answer", "busy", "failed", "canceled"):
            return StepOutcome.leave("no_answer", f"no answer ({inp.status.replace('_', ' ')})")
        if inp.status == "completed":
            return StepOutcome.leave("no_key", "answered, no key pressed")
        return self._await_outcome(ctx, "call answered, waiting for a key", answered=True)

    def summary(self, config: VoiceCallConfig) -> str:
        menu = ", ".join(f"{digit}={label}" for digit, label in config.keys.items())
        return f"Call {config.template} ({menu})"

    def templates(self, config: VoiceCallConfig) -> list[TemplateUse]:
        return [TemplateUse("template", config.template, "voice", config.purpose)]

    def example_config(self) -> dict:
        return {
            "template": "emi_reminder_voice",
            "keys": {"1": "pay now", "2": "talk to us"},
            "collection": True,
            "calling_window": {"start": "08:00", "end": "19:00"},
        }
