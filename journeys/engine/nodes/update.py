"""update: set a context value (kept on the run) or a customer attribute (an effect)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from ..conditions import MISSING, path_check, path_value
from ..registry import NodeKind, node_kind_register
from ..types import StepInput, StepOutcome, UpdateAttribute
from .common import Config, run_scope


class UpdateConfig(Config):
    target: Literal["context", "attribute"] = Field(
        "context", title="Set", description="context: this run only; attribute: the customer"
    )
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", title="Name")
    value: Any = Field(None, title="Value", description="A literal value")
    value_path: str | None = Field(
        None, title="Or copy from", description="A path, e.g. event.amount or context.order_id"
    )

    @model_validator(mode="after")
    def _path_ok(self) -> UpdateConfig:
        if self.value_path is not None:
            path_check(self.value_path)
        return self


@node_kind_register
class Update(NodeKind):
    kind = "update"
    label = "Update"
    icon = "edit"
    group = "actions"
    description = "Sets a value on the run's context or a customer attribute."
    config_model = UpdateConfig

    def step(self, ctx: StepInput) -> StepOutcome:
        config: UpdateConfig = ctx.config
        value = config.value
        if config.value_path:
            found = path_value(run_scope(ctx.state, ctx.customer, ctx.now), config.value_path)
            value = None if found is MISSING else found
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        reason = f"set {config.target}.{config.name} = {value!r}"
        if config.target == "context":
            return StepOutcome.leave("out", reason, context={config.name: value})
        effect = UpdateAttribute(ctx.state.run_id, ctx.node.id, config.name, value)
        return StepOutcome.leave("out", reason, effects=[effect])

    def summary(self, config: UpdateConfig) -> str:
        source = config.value_path or repr(config.value)
        return f"{config.target}.{config.name} = {source}"

    def example_config(self) -> dict:
        return {"target": "context", "name": "order_status", "value": "dispatched"}
