"""The provider interface: value types, typed errors, the adapter protocol and the registry.

Pure Python (no Django, no models): the outbox dispatcher builds an ``OutboundMessage`` from its
row, calls ``adapter.send``, and maps the outcome:

- ``SendResult``      the provider took the message; store ``provider_id``.
- ``RateLimited``     nothing was sent; defer by ``retry_after_s`` (never drop).
- ``TransientError``  5xx, timeout or broken connection: the outcome is UNKNOWN when
                      ``maybe_sent`` is true. Reconcile (``find_sent`` / ``fetch_status`` or wait
                      for a webhook carrying the ``reference``) before any resend: Twilio, Meta and
                      Exotel do not de-duplicate creates.
- ``AuthFailed``      the provider refused our credentials; nothing was sent. Mark the channel
                      degraded and keep the message queued: it is the account, not the message.
- ``PermanentError``  the provider refused this message for good (invalid number, DLT template
                      mismatch, ...); terminal, with a readable ``reason`` for the message log.

Webhooks arrive as a ``WebhookRequest``; each adapter verifies and parses them into
``StatusUpdate`` / ``CallStatus`` (outcomes of what we sent) and ``InboundMessage`` /
``InboundCall`` / ``KeyPress`` (what the customer did). Every update carries ``reference``, our
idempotency key, whenever the provider echoes it back, so a status for a send whose provider id
we never learnt (the ambiguous 5xx) can still be matched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import cached_property, lru_cache
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import orjson

from channels_app.sms_encoding import sms_measure

CHANNELS = ("sms", "whatsapp", "voice")
SEND_STATUSES = ("accepted", "queued", "sent")
MESSAGE_STATUSES = ("queued", "sent", "delivered", "read", "failed", "undelivered")
CALL_STATUSES = ("queued", "ringing", "answered", "completed", "busy", "no_answer", "failed")
SMS_ENCODINGS = ("", "plain", "unicode")
# Query parameter carrying our idempotency key on status callback URLs, so that a status can be
# matched even when the send's answer (with the provider id) was lost.
REFERENCE_PARAM = "sangam_ref"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
MAX_REPLY_BUTTONS = 3
# Keys whose values never reach a log or the message detail page.
SECRET_KEYS = re.compile(r"token|secret|password|authorization|api_key|apikey", re.IGNORECASE)


# --- outbound -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsFields:
    """DLT metadata every Indian SMS carries; ``encoding`` "" means decide from the text."""

    header: str = ""
    dlt_entity_id: str = ""
    dlt_template_id: str = ""
    encoding: str = ""
    sms_type: str = "transactional"

    def __post_init__(self) -> None:
        if self.encoding not in SMS_ENCODINGS:
            raise ValueError(f"sms.encoding: use one of {SMS_ENCODINGS}, not {self.encoding!r}")


@dataclass(frozen=True)
class ReplyButton:
    """An interactive reply button (Meta allows at most 3, titles up to 20 characters)."""

    id: str
    title: str


@dataclass(frozen=True)
class WhatsAppFields:
    """A template send (``template_name`` or Twilio ``content_sid``), interactive reply buttons
    (``buttons``, inside the service window) or, with neither, free-form text from the body."""

    template_name: str = ""
    language: str = "en"
    components: tuple[Mapping[str, Any], ...] = ()
    category: str = ""  # marketing | utility | authentication; drives price
    buttons: tuple[ReplyButton, ...] = ()
    content_sid: str = ""
    content_variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.buttons) > MAX_REPLY_BUTTONS:
            raise ValueError(f"whatsapp.buttons: at most {MAX_REPLY_BUTTONS} reply buttons")

    @property
    def is_template(self) -> bool:
        return bool(self.template_name or self.content_sid)


@dataclass(frozen=True)
class VoiceFields:
    """An outbound voice-bot call: the prompt spoken, the keypad menu (digit -> label), where the
    keys are posted (``gather_action_url``) and, for flow-based providers, the flow URL."""

    prompt: str = ""
    menu: Mapping[str, str] = field(default_factory=dict)
    language: str = "en-IN"
    gather_action_url: str = ""
    flow_url: str = ""
    timeout_s: int = 5


@dataclass(frozen=True)
class OutboundMessage:
    channel: str
    to: str
    idempotency_key: str
    body: str = ""
    status_callback: str = ""
    sms: SmsFields = field(default_factory=SmsFields)
    whatsapp: WhatsAppFields = field(default_factory=WhatsAppFields)
    voice: VoiceFields = field(default_factory=VoiceFields)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel: use one of {CHANNELS}, not {self.channel!r}")
        if not E164.match(self.to):
            raise ValueError(f"to: {self.to!r} is not an E.164 number like +919812345678")
        if not self.idempotency_key:
            raise ValueError("idempotency_key: required (run + node + attempt)")


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    status: str  # accepted | queued | sent
    raw: Mapping[str, Any] = field(default_factory=dict)


# --- errors -------------------------------------------------------------------------------------


class ProviderError(Exception):
    """Base of every error an adapter raises; ``provider`` names the adapter kind."""

    def __init__(self, reason: str, *, provider: str = "", raw: Mapping[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.provider = provider
        self.raw = redact(raw or {})


class RateLimited(ProviderError):
    """Nothing was sent; try again after ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: float, reason: str = "rate limited", **kw: Any):
        super().__init__(f"{reason} (retry after {retry_after_s:g}s)", **kw)
        self.retry_after_s = retry_after_s


class TransientError(ProviderError):
    """5xx, timeout or connection trouble. ``maybe_sent`` is false only when the request provably
    never left (connection refused); otherwise reconcile before resending."""

    def __init__(self, reason: str, *, maybe_sent: bool = True, status_code: int = 0, **kw: Any):
        super().__init__(reason, **kw)
        self.maybe_sent = maybe_sent
        self.status_code = status_code


class AuthFailed(ProviderError):
    """The provider refused the credentials (401/403, Meta code 190). Nothing was sent."""


class PermanentError(ProviderError):
    """The provider refused this message for good; ``code`` is the provider's own error code."""

    def __init__(self, code: str, reason: str, *, status_code: int = 0, **kw: Any):
        super().__init__(f"{reason} [{code}]" if code else reason, **kw)
        self.code = str(code)
        self.reason = reason
        self.status_code = status_code


class WebhookMalformed(ValueError):
    """The webhook body is not the provider's shape (answer 400); the message says what is off."""


# --- what comes back ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusUpdate:
    provider_id: str
    status: str  # one of MESSAGE_STATUSES
    at: datetime | None = None
    error_code: str = ""
    error_reason: str = ""
    price: Decimal | None = None
    currency: str = ""
    reference: str = ""  # our idempotency key, when the provider echoes it
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundMessage:
    provider_id: str
    from_number: str  # E.164, channel prefix (whatsapp:) removed
    channel: str
    text: str = ""
    button_payload: str = ""
    button_title: str = ""
    context_id: str = ""  # the provider id of the message replied to
    to_number: str = ""
    at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundCall:
    call_id: str
    from_number: str
    to_number: str
    direction: str = "inbound"
    at: datetime | None = None
    custom: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallStatus:
    call_id: str
    status: str  # one of CALL_STATUSES
    duration_s: int | None = None
    at: datetime | None = None
    error_reason: str = ""
    price: Decimal | None = None
    reference: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyPress:
    call_id: str
    digits: str
    from_number: str = ""
    at: datetime | None = None
    custom: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


Outcome = StatusUpdate | CallStatus
Inbound = InboundMessage | InboundCall | KeyPress


@dataclass(frozen=True)
class WebhookRequest:
    """One webhook request as received: the full URL as called (scheme, host, path, query),
    lower-cased headers, the raw body bytes, and the decoded form (empty for JSON bodies)."""

    url: str
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes = b""
    form: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", {k.lower(): v for k, v in self.headers.items()})

    @cached_property
    def body_json(self) -> Any:
        """The body parsed as JSON, once per request (an adapter reads it for statuses and again
        for inbound messages): by orjson, or by ``json`` for what orjson refuses (NaN, integers
        beyond 64 bits). ValueError when the body is not JSON."""
        try:
            return orjson.loads(self.raw_body)
        except orjson.JSONDecodeError:
            return json.loads(self.raw_body)

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    @property
    def params(self) -> dict[str, str]:
        """Query and form merged (form wins): Exotel's Passthru is a GET, callbacks are POSTs."""
        return {**self.query, **self.form}

    @classmethod
    def from_django(cls, request: Any) -> WebhookRequest:
        """Build from a Django ``HttpRequest`` (duck-typed so this module stays Django-free)."""
        content_type = request.headers.get("Content-Type", "")
        form = request.POST.dict() if "form" in content_type else {}
        return cls(
            url=request.build_absolute_uri(),
            method=request.method,
            headers=dict(request.headers),
            raw_body=request.body,
            form=form,
        )


# --- the adapter --------------------------------------------------------------------------------


@runtime_checkable
class ProviderAdapter(Protocol):
    kind: ClassVar[str]
    channels: ClassVar[frozenset[str]]
    # True when ``send`` reaches nothing outside this database (the simulator: its answers are
    # planned outcome rows): the dispatcher then sends and records in one transaction.
    in_database: ClassVar[bool]

    def send(self, msg: OutboundMessage) -> SendResult: ...

    def fetch_status(self, provider_id: str) -> Outcome | None: ...

    def find_sent(self, msg: OutboundMessage, since: datetime) -> SendResult | None: ...

    def parse_status_webhook(self, request: WebhookRequest) -> list[Outcome]: ...

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[Inbound]: ...

    def verify_signature(
        self, url: str, headers: Mapping[str, str], raw_body: bytes, form: Mapping[str, str]
    ) -> bool: ...

    def price(self, msg: OutboundMessage, status: str) -> Decimal: ...


_REGISTRY: dict[str, type] = {}


def provider_register(cls: type) -> type:
    """Class decorator: make an adapter available under its ``kind``."""
    kind = getattr(cls, "kind", "")
    if not kind:
        raise ValueError(f"{cls.__name__} has no kind")
    _REGISTRY[kind] = cls
    return cls


def provider_get(kind: str) -> type:
    if kind not in _REGISTRY:
        raise KeyError(f"no provider {kind!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[kind]


def provider_kinds() -> list[str]:
    return sorted(_REGISTRY)


# --- helpers shared by the adapters -------------------------------------------------------------


@dataclass(frozen=True)
class RateCard:
    """List prices in INR (approximate, mid-2025; a workspace overrides them in its policies).
    WhatsApp bills per delivered template since 1 Jul 2025; service replies are free."""

    sms_segment: Decimal = Decimal("0.20")
    whatsapp: Mapping[str, Decimal] = field(
        default_factory=lambda: {
            "marketing": Decimal("0.7846"),
            "utility": Decimal("0.1150"),
            "authentication": Decimal("0.1150"),
        }
    )
    voice_call: Decimal = Decimal("0.60")
    currency: str = "INR"


def standard_price(msg: OutboundMessage, status: str, card: RateCard) -> Decimal:
    """What a send costs once it reached ``status``: SMS per segment unless it failed outright,
    WhatsApp templates once delivered (or read), voice once answered."""
    if msg.channel == "sms":
        if status in ("failed", ""):
            return Decimal("0")
        return card.sms_segment * max(1, sms_measure(msg.body).segments)
    if msg.channel == "whatsapp":
        if status not in ("delivered", "read") or not msg.whatsapp.is_template:
            return Decimal("0")
        return card.whatsapp.get(msg.whatsapp.category or "utility", Decimal("0"))
    return card.voice_call if status in ("answered", "completed") else Decimal("0")


def redact(data: Any) -> Any:
    """A copy of ``data`` with secret-looking keys masked (keeps the last 4 characters)."""
    if isinstance(data, Mapping):
        return {
            k: _mask(v) if _secret_key(k) else (redact(v) if isinstance(v, _NESTED) else v)
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact(v) if isinstance(v, _NESTED) else v for v in data]
    return data


_NESTED = (Mapping, list, tuple)  # what ``redact`` looks inside; any other value is kept as is


@lru_cache(maxsize=4096)
def _secret_key(key: Any) -> bool:
    # Payload keys repeat (a provider's field names): each is matched once per process.
    return SECRET_KEYS.search(str(key)) is not None


def _mask(value: Any) -> str:
    text = str(value)
    return "****" + text[-4:] if len(text) > 8 else "****"


def strip_channel_prefix(address: str) -> str:
    """``whatsapp:+9198...`` -> ``+9198...``; Meta's ``9198...`` -> ``+9198...``."""
    address = address.split(":", 1)[1] if ":" in address else address
    address = address.strip()
    return address if address.startswith("+") or not address.isdigit() else "+" + address


def parse_timestamp(value: str | int | float | None) -> datetime | None:
    """Unix seconds (Meta), RFC 2822 (Twilio) or ``YYYY-MM-DD HH:MM:SS`` (Exotel, IST)."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    for parse in (
        parsedate_to_datetime,
        datetime.fromisoformat,
    ):
        try:
            moment = parse(text)
        except (TypeError, ValueError, IndexError):
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Asia/Kolkata"))
    return None


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to (or replacing those in) its query string."""
    if not url:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def reference_of(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query)).get(REFERENCE_PARAM, "")
