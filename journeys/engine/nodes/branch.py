"""branch: yes/no or n-way on context, attributes, consent, reachability, previous outcomes."""

from __future__ import annotations

from pydantic import Field, model_validator

from ..conditions import Condition, condition_describe, condition_eval
from ..registry import NodeKind, Port, node_kind_register
from ..types import StepInput, StepOutcome
from .common import Config, run_scope

PORT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,31}$"


class Arm(Config):
    port: str = Field(pattern=PORT_NAME, title="Port", description="Name of the way out, e.g. yes")
    label: str = Field("", title="Label")
    when: Condition = Field(title="When", description="Taken when this holds (first match wins)")


class BranchConfig(Config):
    arms: list[Arm] = Field(min_length=1, title="Ways out", description="Tested in order")
    otherwise: str = Field(
        "no", pattern=PORT_NAME, title="Otherwise", description="Port when no arm matches"
    )

    @model_validator(mode="after")
    def _unique_ports(self) -> BranchConfig:
        names = [arm.port for arm in self.arms] + [self.otherwise]
        if len(set(names)) != len(names):
            raise ValueError("arms: every way out needs its own port name")
        return self


@node_kind_register
class Branch(NodeKind):
    kind = "branch"
    label = "Branch"
    icon = "git-branch"
    group = "logic"
    description = "Goes one way or another on context, attributes, consent, reachability, outcomes."
    config_model = BranchConfig

    def ports(self, config: BranchConfig | None) -> list[Port]:
        if config is None:
            return [Port("yes", "Yes"), Port("no", "No")]
        arms = [Port(arm.port, arm.label or arm.port) for arm in config.arms]
        return arms + [Port(config.otherwise, "Otherwise")]

    def step(self, ctx: StepInput) -> StepOutcome:
        config: BranchConfig = ctx.config
        scope = run_scope(ctx.state, ctx.customer, ctx.now)
        for arm in config.arms:
            if condition_eval(arm.when, scope):
                return StepOutcome.leave(
                    arm.port, f"{arm.port}: {arm.label or condition_describe(arm.when)}"
                )
        described = "; ".join(arm.label or condition_describe(arm.when) for arm in config.arms)
        return StepOutcome.leave(config.otherwise, f"{config.otherwise}: not ({described})")

    def summary(self, config: BranchConfig) -> str:
        return "; ".join(
            f"{arm.port}: {arm.label or condition_describe(arm.when)}" for arm in config.arms
        )

    def example_config(self) -> dict:
        return {
            "arms": [
                {
                    "port": "yes",
                    "label": "has WhatsApp",
                    "when": {"path": "reachable.whatsapp", "op": "is_true"},
                }
            ],
            "otherwise": "no",
        }
