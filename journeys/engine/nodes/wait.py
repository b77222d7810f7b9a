"""wait: a duration, until a local time of day, until a window opens, or until a date."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..registry import NodeKind, node_kind_register
from ..timeutil import (
    LocalTime,
    clock_text,
    date_moment,
    duration_text,
    next_time_of_day,
    window_open_at,
)
from ..types import StepInput, StepOutcome, TimerTick, WaitSpec
from .common import Duration


class WaitConfig(Duration):
    mode: Literal["duration", "time_of_day", "window", "date"] = Field(
        "duration",
        title="Wait",
        description="duration; until a time of day; until a window opens; until a date",
    )
    at: LocalTime | None = Field(None, title="At", description="Local time HH:MM")
    window_start: LocalTime | None = Field(None, title="Window from")
    window_end: LocalTime | None = Field(None, title="Window until")
    date_source: Literal["context", "attribute"] = Field("context", title="Date from")
    date_name: str | None = Field(None, title="Date field", description="e.g. emi_due_date")
    offset_days: int = Field(0, ge=-365, le=365, title="Days from the date")

    @model_validator(mode="after")
    def _mode_fields(self) -> WaitConfig:
        if self.mode == "duration" and self.delta().total_seconds() <= 0:
            raise ValueError("days/hours/minutes: give a wait longer than zero")
        if self.mode == "time_of_day" and not self.at:
            raise ValueError("at: give the local time to wait until, e.g. 09:00")
        if self.mode == "window" and not (self.window_start and self.window_end):
            raise ValueError("window_start/window_end: give the window, e.g. 09:00-21:00")
        if self.mode == "date" and not self.date_name:
            raise ValueError("date_name: name the date field to wait for")
        return self


@node_kind_register
class Wait(NodeKind):
    kind = "wait"
    label = "Wait"
    icon = "clock"
    group = "waits"
    description = "Waits a duration, until a time of day or window, or until a date."
    config_model = WaitConfig
    instantaneous = False
    breaks_loops = True

    def step(self, ctx: StepInput) -> StepOutcome:
        config: WaitConfig = ctx.config
        if isinstance(ctx.input, TimerTick):
            return StepOutcome.leave("out", f"waited: {self.summary(config)}")
        if not ctx.entering:
            return StepOutcome.ignore()
        tz = ctx.customer.tz
        if config.mode == "duration":
            wake = ctx.now + config.delta()
        elif config.mode == "time_of_day":
            wake = next_time_of_day(ctx.now, config.at or "00:00", tz)
        elif config.mode == "window":
            wake = window_open_at(ctx.now, config.window_start, config.window_end, tz)
        else:
            source = (
                ctx.customer.attributes if config.date_source == "attribute" else ctx.state.context
            )
            wake = date_moment(
                source.get(config.date_name or ""),
                offset_days=config.offset_days,
                at=config.at or "10:00",
                tz=tz,
            )
            if wake is None:
                return StepOutcome.leave("out", f"no date in {config.date_name}: not waiting")
        if wake <= ctx.now:
            return StepOutcome.leave("out", f"no wait needed: {self.summary(config)}")
        reason = f"waiting until {wake.date().isoformat()} {clock_text(wake, tz)}"
        return StepOutcome.stay(WaitSpec(wake_at=wake, reason=reason))

    def summary(self, config: WaitConfig) -> str:
        if config.mode == "duration":
            return duration_text(config.delta())
        if config.mode == "time_of_day":
            return f"until {config.at}"
        if config.mode == "window":
            return f"until inside {config.window_start}-{config.window_end}"
        days = config.offset_days
        rel = "" if days == 0 else f"{abs(days)} days {'before' if days < 0 else 'after'} "
        return f"until {rel}{config.date_name} {config.at or '10:00'}"

    def example_config(self) -> dict:
        return {"mode": "duration", "hours": 24}
