"""Run inputs as stored rows (RunInput) and back, and channel-outcome events mapped to inputs.

Channel outcomes arrive as console Events (see the engine/outbox contract): ``message.sent`` is
the dispatcher's verdict ``sent``; ``message.blocked`` a ``skipped`` verdict with its reason;
``message.delivered|read|replied|clicked|failed|undelivered`` later statuses; ``call.*`` call
outcomes (``call.keypress`` carries the digit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from journeys.engine import (
    CallOutcome,
    EventInput,
    Input,
    MessageOutcome,
    SendVerdict,
    WebhookResult,
)

MESSAGE_STATUSES = ("delivered", "read", "replied", "clicked", "failed", "undelivered")
CALL_STATUSES = ("answered", "no_answer", "busy", "completed", "failed", "keypress")


def channel_input(name: str, at: datetime, properties: dict[str, Any]) -> tuple[str, dict] | None:
    """(kind, payload) of the run input an outcome event stands for, or None."""
    key = str(properties.get("message_key") or "")
    if not key:
        return None
    family, _, status = name.partition(".")
    if family == "message" and status == "sent":
        return "verdict", {"key": key, "status": "sent", "channel": properties.get("channel")}
    if family == "message" and status == "blocked":
        reason = str(properties.get("reason") or "blocked")
        return "verdict", {"key": key, "status": "skipped", "reason": reason}
    if family == "message" and status in MESSAGE_STATUSES:
        return "message", {"key": key, "status": status}
    if family == "call" and status in CALL_STATUSES:
        digits = str(properties.get("digit") or properties.get("digits") or "")
        return "call", {"key": key, "status": status, "digits": digits}
    return None


def input_decode(kind: str, at: datetime, payload: dict[str, Any]) -> Input | None:
    if kind == "event":
        return EventInput(payload["name"], at, payload.get("properties") or {})
    if kind == "verdict":
        until = payload.get("until")
        return SendVerdict(
            payload["key"], at, payload["status"], payload.get("reason") or "",
            datetime.fromisoformat(until) if until else None, payload.get("channel"),
        )  # fmt: skip
    if kind == "message":
        return MessageOutcome(payload["key"], at, payload["status"])
    if kind == "call":
        return CallOutcome(payload["key"], at, payload["status"], payload.get("digits") or "")
    if kind == "webhook":
        return WebhookResult(
            payload["key"], at, bool(payload["ok"]), payload.get("status_code"),
            payload.get("reason") or "",
        )  # fmt: skip
    return None
