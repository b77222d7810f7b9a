"""goal (ends the run as completed) and exit (ends it as exited, or completed if the goal was
already reached on the way)."""

from __future__ import annotations

from pydantic import Field

from ..registry import NodeKind, Port, node_kind_register
from ..types import StepInput, StepOutcome
from .common import Config


class EndConfig(Config):
    reason: str = Field("", title="Reason", description="Shown on the run, e.g. paid on time")


@node_kind_register
class Goal(NodeKind):
    kind = "goal"
    label = "Goal reached"
    icon = "flag"
    group = "ends"
    description = "Ends the run as completed: it reached the journey's goal."
    config_model = EndConfig

    def ports(self, config: EndConfig | None) -> list[Port]:
        return []

    def step(self, ctx: StepInput) -> StepOutcome:
        return StepOutcome(end="completed", reason=f"goal: {ctx.config.reason or 'reached'}")


@node_kind_register
class Exit(NodeKind):
    kind = "exit"
    label = "Exit"
    icon = "log-out"
    group = "ends"
    description = "Ends the run (completed if it reached the goal earlier, else exited)."
    config_model = EndConfig

    def ports(self, config: EndConfig | None) -> list[Port]:
        return []

    def step(self, ctx: StepInput) -> StepOutcome:
        status = "completed" if ctx.state.goal_reached_at else "exited"
        return StepOutcome(end=status, reason=f"exit: {ctx.config.reason or 'end of journey'}")
