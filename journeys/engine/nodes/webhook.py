"""webhook: call an outside HTTPS endpoint on an allow-listed host; ports ok / failed.

The config refuses IP literals in private, loopback, link-local, reserved or multicast ranges and
local host names; the workspace's allow-list is checked by ``journey_validate`` (it is workspace
data) and again by the worker, which must also check the resolved address (DNS can point an allowed
name at a private address).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ..registry import NodeKind, Port, node_kind_register
from ..types import StepInput, StepOutcome, TimerTick, WaitSpec, WebhookCall, WebhookResult
from .common import Config

# The worker retries a failed call a few times inside this; after it the node takes `failed`.
RESULT_TIMEOUT = timedelta(minutes=15)
_LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home.arpa")


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be called (None when it may)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a valid URL"
    if parts.scheme != "https":
        return "use an https:// URL"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "the URL has no host"
    if parts.username or parts.password:
        return "do not put credentials in the URL"
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host.strip("[]"):
        return f"{host} is a local host name"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if not address.is_global or address.is_multicast:
        return f"{host} is a private, loopback or link-local address"
    return None


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".").lower()


class WebhookConfig(Config):
    url: str = Field(title="URL", description="https:// on a host the workspace allow-lists")
    method: Literal["POST", "PUT", "GET"] = Field("POST", title="Method")
    body: dict[str, Any] = Field(default_factory=dict, title="Body", description="Static JSON")
    include_context: bool = Field(
        True, title="Send the run's context", description="Adds run_id and context to the body"
    )
    timeout_seconds: float = Field(10, gt=0, le=30, title="Timeout (seconds)")

    @field_validator("url")
    @classmethod
    def _safe_url(cls, url: str) -> str:
        problem = url_problem(url)
        if problem:
            raise ValueError(problem)
        return url


@node_kind_register
class Webhook(NodeKind):
    kind = "webhook"
    label = "Webhook"
    icon = "globe"
    group = "actions"
    description = "Calls an outside HTTPS endpoint (allow-listed hosts only)."
    config_model = WebhookConfig
    instantaneous = False

    def ports(self, config: WebhookConfig | None) -> list[Port]:
        return [Port("ok", "OK (2xx)"), Port("failed", "Failed", required=False)]

    def step(self, ctx: StepInput) -> StepOutcome:
        config: WebhookConfig = ctx.config
        if ctx.entering:
            body = dict(config.body)
            if config.include_context:
                body |= {"run_id": ctx.state.run_id, "context": dict(ctx.state.context)}
            call = WebhookCall(
                ctx.key(), ctx.state.run_id, ctx.node.id, config.url, config.method, body,
                config.timeout_seconds,
            )  # fmt: skip
            wait = WaitSpec(
                wake_at=ctx.now + RESULT_TIMEOUT,
                message_key=call.key,
                outcome="webhook",
                reason=f"calling {url_host(config.url)}",
            )
            return StepOutcome.stay(wait, effects=[call], node_data={"key": call.key})
        inp = ctx.input
        if isinstance(inp, TimerTick):
            return StepOutcome.leave("failed", "failed: no answer from the webhook in time")
        if not isinstance(inp, WebhookResult) or inp.key != ctx.data.get("key"):
            return StepOutcome.ignore()
        status = f"HTTP {inp.status_code}" if inp.status_code else "no response"
        if inp.ok:
            return StepOutcome.leave("ok", f"ok: {status}")
        return StepOutcome.leave("failed", f"failed: {inp.reason or status}")

    def summary(self, config: WebhookConfig) -> str:
        return f"{config.method} {url_host(config.url)}"

    def example_config(self) -> dict:
        return {"url": "https://hooks.example.com/sangam", "method": "POST"}
