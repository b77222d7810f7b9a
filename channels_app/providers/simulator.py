"""The simulator: the default provider, needing no credentials, that plays the customer's side.

``simulator_plan`` is pure and seeded: the same message (idempotency key), config and seed give the
same list of future outcomes, e.g. ``[(+1s, sent), (+3s, delivered), (+41s, read), (+5m, button
"Need help?")]``. Nothing uses the global ``random``: each message gets its own generator seeded
from sha256(seed, idempotency key), so plans do not depend on the order messages are sent in.

The outcomes travel through the same webhook path as a real provider's: ``simulator_webhook``
encodes events as a small JSON document ``{"events": [...]}`` signed with
``X-Sangam-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``, which ``SimulatorAdapter``
verifies and parses like any other provider. The phone view builds customer actions (a reply, a
tapped button, a key pressed, an inbound call) as ``SimEvent`` and posts them the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from channels_app.providers.base import (
    CallStatus,
    Inbound,
    InboundCall,
    InboundMessage,
    KeyPress,
    OutboundMessage,
    Outcome,
    RateCard,
    SendResult,
    StatusUpdate,
    WebhookMalformed,
    WebhookRequest,
    parse_timestamp,
    provider_register,
    standard_price,
)

SIGNATURE_HEADER = "X-Sangam-Signature"
EVENT_TYPES = ("status", "call", "message", "keypress", "inbound_call")
REPLIES = ("Yes", "Thanks!", "When will it arrive?", "Please call me", "OK")


@dataclass(frozen=True)
class SimulatorConfig:
    """Rates are probabilities (0..1), each conditional on the step before it (read is a share
    of delivered); delays are seconds, scaled by a factor in [1 - jitter, 1 + jitter]."""

    seed: int = 0
    secret: str = "sangam-simulator"
    sms_delivered: float = 0.95
    whatsapp_reachable: float = 0.9
    whatsapp_delivered: float = 0.97
    whatsapp_read: float = 0.75
    whatsapp_button: float = 0.4
    whatsapp_replied: float = 0.15
    call_answered: float = 0.6
    call_busy: float = 0.25
    call_keypress: float = 0.8
    sent_s: float = 1.0
    sms_delivery_s: float = 3.0
    whatsapp_delivery_s: float = 2.0
    whatsapp_read_s: float = 40.0
    whatsapp_reply_s: float = 300.0
    call_ring_s: float = 8.0
    call_keypress_s: float = 10.0
    call_talk_s: float = 20.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("seed", "secret"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{f.name}: a number is required, not {value!r}")
            if f.name.endswith("_s") and value < 0:
                raise ValueError(f"{f.name}: a delay cannot be negative")
            if not f.name.endswith("_s") and not 0 <= value <= 1:
                raise ValueError(f"{f.name}: a rate is between 0 and 1")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError("seed: a whole number is required")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SimulatorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{unknown[0]}: not a simulator setting")
        return cls(**data)


@dataclass(frozen=True)
class PlannedOutcome:
    """One future outcome ``offset`` after the send. ``kind`` is an EVENT_TYPES value."""

    offset: timedelta
    kind: str
    status: str = ""
    text: str = ""
    button_payload: str = ""
    button_title: str = ""
    digits: str = ""
    error_code: str = ""
    error_reason: str = ""


@dataclass(frozen=True)
class SimEvent:
    """One simulator webhook event (the JSON shape on the wire)."""

    type: str
    provider_id: str
    channel: str
    at: str  # ISO 8601 with offset
    reference: str = ""
    status: str = ""
    from_number: str = ""
    text: str = ""
    button_payload: str = ""
    button_title: str = ""
    context_id: str = ""
    digits: str = ""
    error_code: str = ""
    error_reason: str = ""

    def as_dict(self) -> dict[str, str]:
        """``asdict`` for this flat record, without its deep copy."""
        return dict(self.__dict__)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"type: use one of {EVENT_TYPES}, not {self.type!r}")


def _digest(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{seed}:{key}".encode()).digest()


def simulator_provider_id(msg: OutboundMessage, seed: int = 0) -> str:
    prefix = {"sms": "SIMSM", "whatsapp": "SIMWA", "voice": "SIMCA"}[msg.channel]
    return prefix + _digest(seed, msg.idempotency_key).hex()[:24]


class _Clock:
    """Offsets that only move forward, each step jittered from the message's own generator."""

    def __init__(self, rng: random.Random, jitter: float):
        self.rng, self.jitter, self.seconds = rng, jitter, 0.0

    def after(self, delay_s: float) -> timedelta:
        self.seconds += delay_s * (1 + self.jitter * (2 * self.rng.random() - 1))
        return timedelta(seconds=round(self.seconds, 3))


def simulator_plan(msg: OutboundMessage, config: SimulatorConfig) -> list[PlannedOutcome]:
    """The deterministic list of what will happen to ``msg``; same inputs, same plan."""
    rng = random.Random(int.from_bytes(_digest(config.seed, msg.idempotency_key)[:8], "big"))
    clock = _Clock(rng, config.jitter)
    planner = {"sms": _plan_sms, "whatsapp": _plan_whatsapp, "voice": _plan_call}[msg.channel]
    return planner(msg, config, rng, clock)


def _plan_sms(msg, config, rng, clock) -> list[PlannedOutcome]:
    plan = [PlannedOutcome(clock.after(config.sent_s), "status", "sent")]
    if rng.random() < config.sms_delivered:
        return [*plan, PlannedOutcome(clock.after(config.sms_delivery_s), "status", "delivered")]
    failed = PlannedOutcome(
        clock.after(config.sms_delivery_s),
        "status",
        "failed",
        error_code="SIM-30003",
        error_reason="the handset is unreachable (simulated)",
    )
    return [*plan, failed]


def _buttons(msg: OutboundMessage) -> list[tuple[str, str]]:
    """Reply buttons of an interactive message, or quick replies of a template's components."""
    found = [(b.id, b.title) for b in msg.whatsapp.buttons]
    for component in msg.whatsapp.components:
        if component.get("type") == "button" and component.get("sub_type") == "quick_reply":
            for parameter in component.get("parameters", []):
                payload = parameter.get("payload", "")
                found.append((payload, parameter.get("text", payload)))
    return found


def _plan_whatsapp(msg, config, rng, clock) -> list[PlannedOutcome]:
    if rng.random() >= config.whatsapp_reachable:
        return [
            PlannedOutcome(
                clock.after(config.sent_s),
                "status",
                "failed",
                error_code="131026",
                error_reason="message undeliverable: the number is not on WhatsApp (simulated)",
            )
        ]
    plan = [PlannedOutcome(clock.after(config.sent_s), "status", "sent")]
    if rng.random() >= config.whatsapp_delivered:
        return plan  # phone off: stays "sent", as real undelivered WhatsApp messages do
    plan.append(PlannedOutcome(clock.after(config.whatsapp_delivery_s), "status", "delivered"))
    if rng.random() >= config.whatsapp_read:
        return plan
    plan.append(PlannedOutcome(clock.after(config.whatsapp_read_s), "status", "read"))
    buttons, draw_button, draw_reply = _buttons(msg), rng.random(), rng.random()
    if buttons and draw_button < config.whatsapp_button:
        payload, title = buttons[rng.randrange(len(buttons))]
        plan.append(
            PlannedOutcome(
                clock.after(config.whatsapp_reply_s),
                "message",
                text=title,
                button_payload=payload,
                button_title=title,
            )
        )
    elif draw_reply < config.whatsapp_replied:
        text = REPLIES[rng.randrange(len(REPLIES))]
        plan.append(PlannedOutcome(clock.after(config.whatsapp_reply_s), "message", text=text))
    return plan


def _plan_call(msg, config, rng, clock) -> list[PlannedOutcome]:
    plan = [PlannedOutcome(clock.after(config.sent_s), "call", "ringing")]
    if rng.random() >= config.call_answered:
        status = "busy" if rng.random() < config.call_busy else "no_answer"
        return [*plan, PlannedOutcome(clock.after(config.call_ring_s), "call", status)]
    plan.append(PlannedOutcome(clock.after(config.call_ring_s), "call", "answered"))
    keys = sorted(msg.voice.menu)
    if keys and rng.random() < config.call_keypress:
        digit = keys[rng.randrange(len(keys))]
        plan.append(PlannedOutcome(clock.after(config.call_keypress_s), "keypress", digits=digit))
    plan.append(PlannedOutcome(clock.after(config.call_talk_s), "call", "completed"))
    return plan


def plan_events(
    plan: Sequence[PlannedOutcome], *, msg: OutboundMessage, provider_id: str, sent_at: datetime
) -> list[SimEvent]:
    """The planned outcomes as webhook events with absolute times (``sent_at`` + offset)."""
    return [
        SimEvent(
            type=outcome.kind,
            # A reply is a message of its own; it names the one it answers in context_id.
            provider_id=f"{provider_id}.r{index}" if outcome.kind == "message" else provider_id,
            channel=msg.channel,
            at=(sent_at + outcome.offset).isoformat(),
            reference=msg.idempotency_key,
            status=outcome.status,
            from_number=msg.to if outcome.kind in ("message", "keypress") else "",
            text=outcome.text,
            button_payload=outcome.button_payload,
            button_title=outcome.button_title,
            context_id=provider_id if outcome.kind == "message" else "",
            digits=outcome.digits,
            error_code=outcome.error_code,
            error_reason=outcome.error_reason,
        )
        for index, outcome in enumerate(plan)
    ]


def simulator_signature(raw_body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def simulator_webhook(events: Sequence[SimEvent], secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of one signed simulator webhook carrying ``events``."""
    body = orjson.dumps({"events": [e.as_dict() for e in events]})
    signature = simulator_signature(body, secret)
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature}


def simulator_events_parse(request: WebhookRequest) -> list[SimEvent]:
    try:
        return [SimEvent(**item) for item in request.body_json["events"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookMalformed(f"expected {{'events': [...]}} of simulator events: {exc}") from exc


@provider_register
class SimulatorAdapter:
    kind: ClassVar[str] = "simulator"
    channels: ClassVar[frozenset[str]] = frozenset({"sms", "whatsapp", "voice"})
    in_database: ClassVar[bool] = True

    def __init__(self, config: SimulatorConfig | Mapping[str, Any] | None = None, **_: Any):
        if config is None:
            config = SimulatorConfig()
        elif not isinstance(config, SimulatorConfig):
            config = SimulatorConfig.from_mapping(config)
        self.config = config
        self.rates = RateCard()

    def plan(self, msg: OutboundMessage) -> list[PlannedOutcome]:
        return simulator_plan(msg, self.config)

    def send(self, msg: OutboundMessage) -> SendResult:
        provider_id = simulator_provider_id(msg, self.config.seed)
        return SendResult(provider_id, "accepted", {"simulated": True, "to": msg.to})

    def fetch_status(self, provider_id: str) -> Outcome | None:
        return None  # the simulator never fails ambiguously

    def find_sent(self, msg: OutboundMessage, since: datetime) -> SendResult | None:
        return None

    def verify_signature(
        self, url: str, headers: Mapping[str, str], raw_body: bytes, form: Mapping[str, Any]
    ) -> bool:
        given = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER.lower(), "")
        expected = simulator_signature(raw_body, self.config.secret)
        return bool(given) and hmac.compare_digest(given.encode(), expected.encode())

    def parse_status_webhook(self, request: WebhookRequest) -> list[Outcome]:
        found: list[Outcome] = []
        for event in simulator_events_parse(request):
            at = parse_timestamp(event.at)
            if event.type == "status":
                found.append(
                    StatusUpdate(
                        event.provider_id,
                        event.status,
                        at,
                        event.error_code,
                        event.error_reason,
                        reference=event.reference,
                        raw=event.as_dict(),
                    )
                )
            elif event.type == "call":
                found.append(
                    CallStatus(
                        event.provider_id,
                        event.status,
                        at=at,
                        reference=event.reference,
                        raw=event.as_dict(),
                    )
                )
        return found

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[Inbound]:
        found: list[Inbound] = []
        for event in simulator_events_parse(request):
            if event.type not in ("message", "keypress", "inbound_call"):
                continue
            at, raw = parse_timestamp(event.at), event.as_dict()
            if event.type == "message":
                found.append(
                    InboundMessage(
                        event.provider_id,
                        event.from_number,
                        event.channel,
                        event.text,
                        event.button_payload,
                        event.button_title,
                        event.context_id,
                        at=at,
                        raw=raw,
                    )
                )
            elif event.type == "keypress":
                press = KeyPress(event.provider_id, event.digits, event.from_number, at, raw=raw)
                found.append(press)
            elif event.type == "inbound_call":
                found.append(InboundCall(event.provider_id, event.from_number, "", at=at, raw=raw))
        return found

    def price(self, msg: OutboundMessage, status: str) -> Decimal:
        return standard_price(msg, status, self.rates)
