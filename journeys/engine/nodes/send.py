"""send: one message on one channel (or the ``best`` one) from a template.

Choice (documented in docs/journey-format.md): the node emits a SendRequest and WAITS for the
dispatcher's verdict, because guardrails (consent, DND, caps, quiet hours, the WhatsApp window) are
checked when the message is about to leave, not when the node is entered. ``sent`` (handed to the
provider) takes port ``sent``; ``skipped`` (a guardrail blocked it) takes ``skipped`` with the
reason; ``failed`` takes ``failed``; ``deferred`` keeps waiting and notes "deferred to 09:00 by
quiet hours". A delivered/read status arriving before the verdict counts as sent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..conditions import MISSING, path_value
from ..registry import NodeKind, Port, TemplateUse, node_kind_register
from ..types import MessageOutcome, SendRequest, SendVerdict, StepInput, StepOutcome, TimerTick
from .common import (
    SendPolicy,
    channel_name,
    deferred_stay,
    reason_text,
    run_scope,
    verdict_wait,
)

SEND_CHANNELS = ("sms", "whatsapp", "voice")


class SendConfig(SendPolicy):
    channel: Literal["sms", "whatsapp", "voice", "best"] = Field(
        "sms", title="Channel", description="best: chosen by preference, consent and engagement"
    )
    template: str | None = Field(None, title="Template", description="Template key (one channel)")
    templates: dict[Literal["sms", "whatsapp", "voice"], str] = Field(
        default_factory=dict,
        title="Templates per channel",
        description="For channel best: the template to use on each channel it may pick",
    )
    variables: dict[str, str] = Field(
        default_factory=dict,
        title="Variables",
        description="Template variable -> path, e.g. amount -> context.amount (default: context)",
    )

    @model_validator(mode="after")
    def _templates_given(self) -> SendConfig:
        if self.channel == "best" and not self.templates:
            raise ValueError("templates: give a template for each channel best may choose")
        if self.channel != "best" and not self.template:
            raise ValueError("template: choose the template to send")
        return self


def variables_for(ctx: StepInput, mapping: dict[str, str]) -> dict:
    """The values a template is rendered with: the run's context plus explicitly mapped paths."""
    values = dict(ctx.state.context)
    if mapping:
        scope = run_scope(ctx.state, ctx.customer, ctx.now)
        for name, path in mapping.items():
            found = path_value(scope, path)
            if found is not MISSING:
                values[name] = found
    return values


@node_kind_register
class Send(NodeKind):
    kind = "send"
    label = "Send message"
    icon = "message"
    group = "messages"
    description = "Sends one template on SMS, WhatsApp or voice, or on the best channel."
    config_model = SendConfig
    instantaneous = False

    def ports(self, config: SendConfig | None) -> list[Port]:
        return [
            Port("sent", "Sent"),
            Port("skipped", "Skipped (blocked by a guardrail)", required=False),
            Port("failed", "Failed", required=False),
        ]

    def step(self, ctx: StepInput) -> StepOutcome:
        config: SendConfig = ctx.config
        what = f"{channel_name(config.channel)} {config.template or 'message'}"
        if ctx.entering:
            if ctx.state.holdout:
                return StepOutcome.leave("sent", "holdout: not sent")
            request = SendRequest(
                key=ctx.key(),
                run_id=ctx.state.run_id,
                node_id=ctx.node.id,
                attempt=ctx.attempt,
                channel=config.channel,
                template=config.template or "",
                templates=dict(config.templates),
                purpose=config.purpose,
                variables=variables_for(ctx, config.variables),
                respect_quiet_hours=config.respect_quiet_hours,
                collection=config.collection,
                calling_window=config.calling_window.pair() if config.calling_window else None,
            )
            wait = verdict_wait(ctx, request.key, what)
            return StepOutcome.stay(wait, effects=[request], node_data={"key": request.key})
        return self._resume(ctx, what)

    def _resume(self, ctx: StepInput, what: str) -> StepOutcome:
        inp, key = ctx.input, ctx.data.get("key")
        if isinstance(inp, TimerTick):
            return StepOutcome.leave("failed", "failed: no verdict from the dispatcher in time")
        if getattr(inp, "key", None) != key:
            return StepOutcome.ignore()
        if isinstance(inp, SendVerdict):
            channel = channel_name(inp.channel or ctx.config.channel)
            if inp.status == "sent":
                return StepOutcome.leave("sent", f"sent by {channel}")
            if inp.status == "skipped":
                return StepOutcome.leave("skipped", f"skipped: {reason_text(inp.reason)}")
            if inp.status == "failed":
                return StepOutcome.leave("failed", f"failed: {reason_text(inp.reason)}")
            return deferred_stay(ctx, key, what, inp.until, inp.reason)
        if isinstance(inp, MessageOutcome):
            if inp.status in ("failed", "undelivered"):
                return StepOutcome.leave("failed", f"failed: {inp.status}")
            return StepOutcome.leave("sent", f"sent ({inp.status} reported)")
        return StepOutcome.ignore()

    def summary(self, config: SendConfig) -> str:
        if config.channel == "best":
            return f"Best channel: {', '.join(f'{k}={v}' for k, v in config.templates.items())}"
        return f"{channel_name(config.channel)}: {config.template} ({config.purpose})"

    def templates(self, config: SendConfig) -> list[TemplateUse]:
        if config.channel == "best":
            return [
                TemplateUse(f"templates.{channel}", key, channel, config.purpose)
                for channel, key in config.templates.items()
            ]
        return [TemplateUse("template", config.template or "", config.channel, config.purpose)]

    def example_config(self) -> dict:
        return {"channel": "whatsapp", "template": "payment_reminder_whatsapp"}
