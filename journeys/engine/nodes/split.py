"""split: A/B/n percentages, deterministic by run id (same run, same arm, every replay)."""

from __future__ import annotations

import hashlib

from pydantic import Field, model_validator

from ..registry import NodeKind, Port, node_kind_register
from ..types import StepInput, StepOutcome
from .branch import PORT_NAME
from .common import Config


class SplitArm(Config):
    port: str = Field(pattern=PORT_NAME, title="Port", description="e.g. A")
    percent: float = Field(gt=0, le=100, title="Percent")


class SplitConfig(Config):
    arms: list[SplitArm] = Field(min_length=2, title="Arms")

    @model_validator(mode="after")
    def _sums_to_100(self) -> SplitConfig:
        if abs(sum(arm.percent for arm in self.arms) - 100) > 1e-6:
            raise ValueError("arms: percentages must add up to 100")
        if len({arm.port for arm in self.arms}) != len(self.arms):
            raise ValueError("arms: every arm needs its own port name")
        return self


def split_bucket(run_id: str, node_id: str) -> float:
    """A stable number in [0, 100) for this run at this node (same run, same arm, every time)."""
    digest = hashlib.sha256(f"{run_id}:{node_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100


@node_kind_register
class Split(NodeKind):
    kind = "split"
    label = "Split"
    icon = "shuffle"
    group = "logic"
    description = "Sends runs down A/B/n arms by percentage (stable per run)."
    config_model = SplitConfig

    def ports(self, config: SplitConfig | None) -> list[Port]:
        if config is None:
            return [Port("A", "A"), Port("B", "B")]
        return [Port(arm.port, f"{arm.port} ({arm.percent:g}%)") for arm in config.arms]

    def step(self, ctx: StepInput) -> StepOutcome:
        config: SplitConfig = ctx.config
        bucket, total = split_bucket(ctx.state.run_id, ctx.node.id), 0.0
        for arm in config.arms:
            total += arm.percent
            if bucket < total:
                return StepOutcome.leave(arm.port, f"arm {arm.port} ({arm.percent:g}%)")
        last = config.arms[-1]
        return StepOutcome.leave(last.port, f"arm {last.port} ({last.percent:g}%)")

    def summary(self, config: SplitConfig) -> str:
        return " / ".join(f"{arm.port} {arm.percent:g}%" for arm in config.arms)

    def example_config(self) -> dict:
        return {"arms": [{"port": "A", "percent": 50}, {"port": "B", "percent": 50}]}
