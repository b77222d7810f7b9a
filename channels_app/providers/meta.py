"""Meta WhatsApp Cloud API: template, interactive and text sends; signed webhooks.

Wire format: ``POST /{version}/{phone_number_id}/messages`` with a bearer token and a JSON body;
the answer's ``messages[0].id`` is the wamid. Errors come as ``{"error": {"code", "message",
"error_data": {"details"}}}``. The Cloud API has no endpoint to look a message up, so after an
ambiguous failure there is nothing to ask: every send carries our idempotency key in
``biz_opaque_callback_data``, which Meta echoes on each status webhook, and the dispatcher waits
for that (``reference``) before deciding to resend.

Webhooks: a GET handshake (``meta_verify_handshake``) when the URL is registered, then POSTs
signed with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, NoReturn

import httpx

from channels_app.providers.base import (
    InboundMessage,
    OutboundMessage,
    Outcome,
    PermanentError,
    RateCard,
    RateLimited,
    SendResult,
    StatusUpdate,
    TransientError,
    WebhookMalformed,
    WebhookRequest,
    parse_timestamp,
    provider_register,
    redact,
    standard_price,
    strip_channel_prefix,
)
from channels_app.providers.transport import (
    DEFAULT_TIMEOUT_S,
    auth_failed,
    http_client,
    json_or_text,
    provider_request,
)

ERROR_REASONS = {
    "100": "invalid parameter in the request",
    "131008": "a required parameter is missing",
    "131009": "a parameter value is not valid",
    "131021": "the recipient is the business number itself",
    "131026": "message undeliverable: the number is not on WhatsApp, or its app is too old",
    "131030": "the recipient is not in the test number's allowed list",
    "131031": "the WhatsApp Business account is locked",
    "131047": "more than 24 hours since the customer last wrote (re-engagement): send an "
    "approved template instead",
    "131049": "Meta held back this marketing message to keep engagement healthy (per-user "
    "marketing cap); retry in 24h at the earliest",
    "131050": "the customer stopped marketing messages from this business",
    "131051": "unsupported message type",
    "132000": "the template's parameter count does not match its variables",
    "132001": "the template does not exist in this language (or is not approved yet)",
    "132012": "a template parameter has the wrong format",
    "132015": "the template is paused for low quality",
    "132016": "the template is disabled",
    "133010": "the business phone number is not registered on the Cloud API",
    "368": "the account is temporarily blocked for policy violations",
}
# Throughput limits: retry later, nothing was sent. Values are conservative first waits.
RATE_LIMIT_CODES = {"4": 60.0, "80007": 60.0, "130429": 1.0, "131056": 6.0}
TRANSIENT_CODES = {"1", "2", "131000", "131016"}
AUTH_CODES = {"190", "10", "200"}
STATUS = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


@dataclass(frozen=True)
class MetaCredentials:
    access_token: str
    phone_number_id: str
    app_secret: str
    verify_token: str = ""
    api_version: str = "v21.0"
    base_url: str = "https://graph.facebook.com"
    rates: RateCard = field(default_factory=RateCard)

    def __post_init__(self) -> None:
        for name in ("access_token", "phone_number_id", "app_secret"):
            if not getattr(self, name):
                raise ValueError(f"{name}: required")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MetaCredentials:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def meta_error(code: str, message: str = "") -> str:
    return ERROR_REASONS.get(str(code), message or f"WhatsApp error {code}")


def meta_signature(raw_body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def meta_verify_handshake(query: Mapping[str, str], verify_token: str) -> tuple[int, str]:
    """The GET Meta sends when a webhook URL is registered: (200, challenge) to echo when the
    mode is ``subscribe`` and the token matches, else (403, "")."""
    given = query.get("hub.verify_token", "")
    if (
        query.get("hub.mode") == "subscribe"
        and verify_token
        and hmac.compare_digest(given.encode(), verify_token.encode())
    ):
        return 200, query.get("hub.challenge", "")
    return 403, ""


def message_payload(msg: OutboundMessage) -> dict[str, Any]:
    """The JSON body for one send: a template, reply buttons (max 3) or plain text."""
    if msg.channel != "whatsapp":
        raise ValueError(f"channel: Meta's Cloud API sends WhatsApp only, not {msg.channel}")
    wa = msg.whatsapp
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": msg.to.lstrip("+"),
        "biz_opaque_callback_data": msg.idempotency_key,
    }
    if wa.template_name:
        template = {"name": wa.template_name, "language": {"code": wa.language}}
        if wa.components:
            template["components"] = [dict(c) for c in wa.components]
        payload.update(type="template", template=template)
    elif wa.buttons:
        buttons = [{"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in wa.buttons]
        interactive = {"type": "button", "body": {"text": msg.body}, "action": {"buttons": buttons}}
        payload.update(type="interactive", interactive=interactive)
    else:
        payload.update(type="text", text={"preview_url": False, "body": msg.body})
    return payload


@provider_register
class MetaAdapter:
    kind: ClassVar[str] = "meta"
    channels: ClassVar[frozenset[str]] = frozenset({"whatsapp"})
    in_database: ClassVar[bool] = False

    def __init__(
        self,
        credentials: MetaCredentials | Mapping[str, Any],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        client: httpx.Client | None = None,
    ):
        if not isinstance(credentials, MetaCredentials):
            credentials = MetaCredentials.from_mapping(credentials)
        self.credentials = credentials
        self.client = client or http_client(
            credentials.base_url,
            timeout_s=timeout_s,
            headers={"Authorization": f"Bearer {credentials.access_token}"},
        )

    def close(self) -> None:
        """Release the pooled connections (the dispatcher keeps one adapter per account)."""
        self.client.close()

    def send(self, msg: OutboundMessage) -> SendResult:
        creds = self.credentials
        response = provider_request(
            self.client,
            "POST",
            f"/{creds.api_version}/{creds.phone_number_id}/messages",
            provider=self.kind,
            on_client_error=self._raise_client_error,
            json=message_payload(msg),
        )
        data = response.json()
        messages = data.get("messages") or [{}]
        if not messages[0].get("id"):
            raise TransientError("Meta answered 200 without a message id", provider=self.kind)
        held = messages[0].get("message_status") == "held_for_quality_assessment"
        return SendResult(messages[0]["id"], "queued" if held else "accepted", redact(data))

    def _raise_client_error(self, response: httpx.Response) -> NoReturn:
        body = json_or_text(response)
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        code = str(error.get("code", ""))
        details = (error.get("error_data") or {}).get("details") or error.get("message", "")
        if code in AUTH_CODES or response.status_code == 401:
            raise auth_failed(self.kind, response, details or "invalid access token")
        if code in RATE_LIMIT_CODES:
            raise RateLimited(
                RATE_LIMIT_CODES[code], meta_error(code, details), provider=self.kind, raw=body
            )
        if code in TRANSIENT_CODES:
            raise TransientError(f"Meta error {code}: {details}", provider=self.kind, raw=body)
        raise PermanentError(
            code or str(response.status_code),
            meta_error(code, details),
            status_code=response.status_code,
            provider=self.kind,
            raw=body,
        )

    def fetch_status(self, provider_id: str) -> Outcome | None:
        return None  # the Cloud API cannot look a message up; wait for the status webhook

    def find_sent(self, msg: OutboundMessage, since: datetime) -> SendResult | None:
        return None  # see the module docstring: statuses carry biz_opaque_callback_data

    # --- webhooks -------------------------------------------------------------------------------

    def verify_signature(
        self, url: str, headers: Mapping[str, str], raw_body: bytes, form: Mapping[str, Any]
    ) -> bool:
        given = {k.lower(): v for k, v in headers.items()}.get("x-hub-signature-256", "")
        expected = meta_signature(raw_body, self.credentials.app_secret)
        return bool(given) and hmac.compare_digest(given.encode(), expected.encode())

    def verify_handshake(self, query: Mapping[str, str]) -> tuple[int, str]:
        return meta_verify_handshake(query, self.credentials.verify_token)

    def parse_status_webhook(self, request: WebhookRequest) -> list[Outcome]:
        return [
            self._status_of(item)
            for value in _change_values(request)
            for item in value.get("statuses") or []
            if item.get("status") in STATUS
        ]

    def _status_of(self, item: Mapping[str, Any]) -> StatusUpdate:
        if not item.get("id"):
            raise WebhookMalformed("statuses[].id is missing")
        errors = item.get("errors") or [{}]
        code = str(errors[0].get("code", "") or "")
        details = (errors[0].get("error_data") or {}).get("details") or errors[0].get("title", "")
        return StatusUpdate(
            provider_id=item["id"],
            status=STATUS[item["status"]],
            at=parse_timestamp(item.get("timestamp")),
            error_code=code,
            error_reason=meta_error(code, details) if code else "",
            price=self._billed(item),
            currency=self.credentials.rates.currency,
            reference=item.get("biz_opaque_callback_data", ""),
            raw=redact(dict(item)),
        )

    def _billed(self, item: Mapping[str, Any]) -> Decimal | None:
        """The message's cost (not an increment) once Meta says it is billable and delivered."""
        pricing = item.get("pricing") or {}
        if not pricing.get("billable") or item.get("status") not in ("delivered", "read"):
            return None
        return self.credentials.rates.whatsapp.get(pricing.get("category", ""), Decimal("0"))

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[InboundMessage]:
        found = []
        for value in _change_values(request):
            to_number = (value.get("metadata") or {}).get("display_phone_number", "")
            for item in value.get("messages") or []:
                found.append(_inbound_of(item, to_number))
        return found

    def price(self, msg: OutboundMessage, status: str) -> Decimal:
        return standard_price(msg, status, self.credentials.rates)


def _change_values(request: WebhookRequest) -> list[Mapping[str, Any]]:
    """Every ``entry[].changes[].value`` of a ``messages`` webhook (other fields, e.g. template
    status updates, are skipped here)."""
    try:
        body = request.body_json
    except ValueError as exc:
        raise WebhookMalformed(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise WebhookMalformed("expected an object with an entry list")
    return [
        change.get("value") or {}
        for entry in body["entry"]
        for change in entry.get("changes") or []
        if change.get("field", "messages") == "messages"
    ]


def _inbound_of(item: Mapping[str, Any], to_number: str) -> InboundMessage:
    if not item.get("id") or not item.get("from"):
        raise WebhookMalformed("messages[] items need id and from")
    kind = item.get("type", "")
    text, payload, title = "", "", ""
    if kind == "text":
        text = (item.get("text") or {}).get("body", "")
    elif kind == "button":
        payload = item["button"].get("payload", "")
        title = text = item["button"].get("text", "")
    elif kind == "interactive":
        reply = item["interactive"].get("button_reply") or item["interactive"].get("list_reply")
        payload, title = (reply or {}).get("id", ""), (reply or {}).get("title", "")
        text = title
    else:
        text = (item.get(kind) or {}).get("caption", "") or f"[{kind}]"
    return InboundMessage(
        provider_id=item["id"],
        from_number=strip_channel_prefix(item["from"]),
        channel="whatsapp",
        text=text,
        button_payload=payload,
        button_title=title,
        context_id=(item.get("context") or {}).get("id", ""),
        to_number=strip_channel_prefix(to_number) if to_number else "",
        at=parse_timestamp(item.get("timestamp")),
        raw=redact(dict(item)),
    )
