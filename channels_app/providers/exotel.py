"""Exotel (Indian CPaaS): DLT SMS, calls into a flow, status callbacks and Passthru IVR steps.

Wire format: form-encoded POSTs with basic auth (API key + token) to
``https://<subdomain>/v1/Accounts/<sid>/...``; paths ending in ``.json`` answer JSON
(``{"SMSMessage": {...}}``, ``{"Call": {...}}``, errors as ``{"RestException": {"Status",
"Message"}}``).

Authentication of webhooks: Exotel does not sign its callbacks. Every callback and Passthru URL
we hand to Exotel therefore carries a secret, ``sangam_token=<webhook token>`` in its query
string (the URL travels over HTTPS only, so the token is not visible on the wire);
``verify_signature`` compares it in constant time. The token is per account, rotated from the
Channels settings; a rotated token invalidates old flow URLs, so the console shows the new
Passthru URL to paste into the Exotel flow. Operators may add Exotel's published egress IPs to an
allow-list at the proxy as a second layer.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, NoReturn

import httpx

from channels_app.providers.base import (
    REFERENCE_PARAM,
    CallStatus,
    Inbound,
    InboundCall,
    InboundMessage,
    KeyPress,
    OutboundMessage,
    Outcome,
    PermanentError,
    RateCard,
    SendResult,
    StatusUpdate,
    WebhookMalformed,
    WebhookRequest,
    parse_timestamp,
    provider_register,
    redact,
    reference_of,
    standard_price,
    with_query,
)
from channels_app.providers.transport import (
    DEFAULT_TIMEOUT_S,
    auth_failed,
    http_client,
    json_or_text,
    provider_request,
)
from channels_app.sms_encoding import sms_measure

TOKEN_PARAM = "sangam_token"
PASSTHRU_MATCH, PASSTHRU_OTHER = 200, 302

# DetailedStatusCode values as Exotel documents them for DLT rejections (23082/23083 confirmed in
# the reference; the others are matched on the DetailedStatus name below).
ERROR_REASONS = {
    "23082": "the SMS text does not match the registered DLT template (fix the template or "
    "its variables)",
    "23083": "the operator found no consent for this promotional SMS (DLT consent template)",
}
DETAILED_REASONS = {
    "DND": "the number is registered on DND/NCPR for this category",
    "ENTITY": "the DLT entity id is not registered (or does not own this header)",
    "HEADER": "the sender header is not registered on DLT",
    "TEMPLATE": "the DLT template is not found, blacklisted or does not match the text",
    "INVALID": "invalid or unreachable number",
}
SMS_STATUS = {
    "queued": "queued",
    "sending": "queued",
    "submitted": "sent",
    "sent": "delivered",  # Exotel's "sent" means delivered to the handset
    "failed_dnd": "failed",
    "failed": "failed",
}
CALL_STATUS = {
    "queued": "queued",
    "ringing": "ringing",
    "in-progress": "answered",
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "failed",
}


@dataclass(frozen=True)
class ExotelCredentials:
    api_key: str
    api_token: str
    account_sid: str
    webhook_token: str
    sms_from: str = ""
    caller_id: str = ""
    dlt_entity_id: str = ""
    base_url: str = "https://api.exotel.com"  # api.in.exotel.com for the Mumbai cluster
    rates: RateCard = field(default_factory=RateCard)

    def __post_init__(self) -> None:
        for name in ("api_key", "api_token", "account_sid"):
            if not getattr(self, name):
                raise ValueError(f"{name}: required")
        if len(self.webhook_token) < 16:
            raise ValueError("webhook_token: use at least 16 random characters")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ExotelCredentials:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def exotel_reason(code: str, detailed: str = "", status: str = "") -> str:
    if status == "failed_dnd":
        return DETAILED_REASONS["DND"]
    if code in ERROR_REASONS:
        return ERROR_REASONS[code]
    for word, reason in DETAILED_REASONS.items():
        if word in detailed.upper():
            return reason
    return detailed or (f"Exotel error {code}" if code else "")


def exotel_digits(raw: str) -> str:
    """Passthru sends ``digits`` wrapped in double quotes (``"1"``); strip them."""
    return raw.strip().strip('"').strip()


def exotel_number(raw: str) -> str:
    """Exotel writes Indian numbers as ``09812345678``; callers want ``+919812345678``."""
    digits = "".join(ch for ch in str(raw) if ch.isdigit())
    if str(raw).startswith("+"):
        return "+" + digits
    if len(digits) == 11 and digits.startswith("0"):
        return "+91" + digits[1:]
    if len(digits) == 10:
        return "+91" + digits
    if len(digits) == 12 and digits.startswith("91"):
        return "+" + digits
    return str(raw)


def passthru_answer(take_first_branch: bool) -> int:
    """A Passthru applet branches on our HTTP status: 200 takes one branch, 302 the other."""
    return PASSTHRU_MATCH if take_first_branch else PASSTHRU_OTHER


def sms_encoding_type(msg: OutboundMessage) -> str:
    if msg.sms.encoding:
        return msg.sms.encoding
    return "plain" if sms_measure(msg.body).encoding == "GSM-7" else "unicode"


@provider_register
class ExotelAdapter:
    kind: ClassVar[str] = "exotel"
    channels: ClassVar[frozenset[str]] = frozenset({"sms", "voice"})
    in_database: ClassVar[bool] = False

    def __init__(
        self,
        credentials: ExotelCredentials | Mapping[str, Any],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        client: httpx.Client | None = None,
    ):
        if not isinstance(credentials, ExotelCredentials):
            credentials = ExotelCredentials.from_mapping(credentials)
        self.credentials = credentials
        self.client = client or http_client(
            credentials.base_url,
            timeout_s=timeout_s,
            auth=(credentials.api_key, credentials.api_token),
        )
        self.api = f"/v1/Accounts/{credentials.account_sid}"

    def callback_url(self, url: str, reference: str = "") -> str:
        """``url`` with the webhook token (and our reference) Exotel will call back with."""
        params = {TOKEN_PARAM: self.credentials.webhook_token}
        if reference:
            params[REFERENCE_PARAM] = reference
        return with_query(url, **params)

    def close(self) -> None:
        """Release the pooled connections (the dispatcher keeps one adapter per account)."""
        self.client.close()

    # --- sending --------------------------------------------------------------------------------

    def send(self, msg: OutboundMessage) -> SendResult:
        if msg.channel == "sms":
            data = self._post("/Sms/send.json", self._sms_form(msg))["SMSMessage"]
            return SendResult(data["Sid"], "queued", redact(data))
        if msg.channel == "voice":
            data = self._post("/Calls/connect.json", self._call_form(msg))["Call"]
            return SendResult(data["Sid"], "queued", redact(data))
        raise ValueError("channel: Exotel sends SMS and calls; use Meta or Twilio for WhatsApp")

    def _sms_form(self, msg: OutboundMessage) -> dict[str, str]:
        sms, creds = msg.sms, self.credentials
        form = {
            "From": sms.header or creds.sms_from,
            "To": msg.to,
            "Body": msg.body,
            "EncodingType": sms_encoding_type(msg),
            "DltEntityId": sms.dlt_entity_id or creds.dlt_entity_id,
            "DltTemplateId": sms.dlt_template_id,
            "SmsType": "promotional" if sms.sms_type == "promotional" else "transactional",
            "CustomField": msg.idempotency_key,
        }
        if msg.status_callback:
            form["StatusCallback"] = self.callback_url(msg.status_callback, msg.idempotency_key)
        return form

    def _call_form(self, msg: OutboundMessage) -> dict[str, str]:
        if not msg.voice.flow_url:
            raise ValueError("voice.flow_url: Exotel connects the call to a flow (app) URL")
        form = {
            "From": msg.to,  # Exotel rings "From" first, then connects it to the flow
            "CallerId": self.credentials.caller_id,
            "Url": msg.voice.flow_url,
            "CallType": "trans",
            "CustomField": msg.idempotency_key,
        }
        if msg.status_callback:
            form["StatusCallback"] = self.callback_url(msg.status_callback, msg.idempotency_key)
            form["StatusCallbackEvents[0]"] = "terminal"
        return form

    def _post(self, path: str, form: Mapping[str, str]) -> dict[str, Any]:
        response = provider_request(
            self.client,
            "POST",
            self.api + path,
            provider=self.kind,
            on_client_error=self._raise_client_error,
            data=dict(form),
        )
        return response.json()

    def _raise_client_error(self, response: httpx.Response) -> NoReturn:
        body = json_or_text(response)
        error = body.get("RestException") or {}
        message = error.get("Message") or body.get("text", "")
        if response.status_code in (401, 403):
            raise auth_failed(self.kind, response, message or "authentication failed")
        code = str(error.get("Code") or response.status_code)
        raise PermanentError(
            code,
            ERROR_REASONS.get(code) or message or f"Exotel refused the request ({code})",
            status_code=response.status_code,
            provider=self.kind,
            raw=body,
        )

    # --- reconciliation -------------------------------------------------------------------------

    def fetch_status(self, provider_id: str) -> Outcome | None:
        """Exotel sids do not say whether they are an SMS or a call: ask for an SMS, then a call."""
        for path, key in (("/SMS/Messages/{}.json", "SMSMessage"), ("/Calls/{}.json", "Call")):
            try:
                response = provider_request(
                    self.client,
                    "GET",
                    self.api + path.format(provider_id),
                    provider=self.kind,
                    on_client_error=self._raise_client_error,
                )
            except PermanentError as exc:
                if exc.status_code == 404:
                    continue
                raise
            data = response.json()[key]
            if key == "SMSMessage":
                return self._sms_status(data, "")
            return self._call_status(data, "")
        return None

    def find_sent(self, msg: OutboundMessage, since: datetime) -> SendResult | None:
        return None  # no search by CustomField: the callback names our reference instead

    # --- webhooks -------------------------------------------------------------------------------

    def verify_signature(
        self, url: str, headers: Mapping[str, str], raw_body: bytes, form: Mapping[str, Any]
    ) -> bool:
        given = WebhookRequest(url=url).query.get(TOKEN_PARAM, "")
        expected = self.credentials.webhook_token
        return bool(given) and hmac.compare_digest(given.encode(), expected.encode())

    def parse_status_webhook(self, request: WebhookRequest) -> list[Outcome]:
        params = _params(request)
        reference = reference_of(request.url) or params.get("CustomField", "")
        if "SmsSid" in params:
            return [self._sms_status(params, reference)]
        if "CallSid" in params:
            return [self._call_status(params, reference)]
        raise WebhookMalformed("neither SmsSid nor CallSid is present")

    def _sms_status(self, data: Mapping[str, Any], reference: str) -> StatusUpdate:
        status = str(data.get("Status", "")).lower()
        if status not in SMS_STATUS:
            raise WebhookMalformed(f"unknown SMS Status {status!r}")
        code = str(data.get("DetailedStatusCode") or "")
        detailed = str(data.get("DetailedStatus") or "")
        failed = SMS_STATUS[status] == "failed"
        price = data.get("Price")
        return StatusUpdate(
            provider_id=data.get("SmsSid") or data["Sid"],
            status=SMS_STATUS[status],
            at=parse_timestamp(data.get("DateSent") or data.get("DateUpdated")),
            error_code=code if failed else "",
            error_reason=exotel_reason(code, detailed, status) if failed else "",
            price=Decimal(str(price)) if price not in (None, "") else None,
            currency="INR" if price not in (None, "") else "",
            reference=reference,
            raw=redact(dict(data)),
        )

    def _call_status(self, data: Mapping[str, Any], reference: str) -> CallStatus:
        status = str(data.get("Status", "")).lower()
        duration = str(data.get("ConversationDuration") or data.get("Duration") or "")
        return CallStatus(
            call_id=data.get("CallSid") or data["Sid"],
            status=CALL_STATUS.get(status, "queued"),
            duration_s=int(duration) if duration.isdigit() else None,
            at=parse_timestamp(data.get("DateUpdated") or data.get("EndTime")),
            reference=reference,
            raw=redact(dict(data)),
        )

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[Inbound]:
        """A Passthru hit (key press or the start of an inbound call) or an incoming SMS."""
        params = _params(request)
        if "SmsSid" in params and "From" in params:
            return [_incoming_sms(params)]
        if "CallSid" not in params:
            raise WebhookMalformed("CallSid is missing")
        custom = params.get("CustomField", "")
        if "digits" in params:
            return [
                KeyPress(
                    call_id=params["CallSid"],
                    digits=exotel_digits(params["digits"]),
                    from_number=exotel_number(params.get("CallFrom", "")),
                    at=parse_timestamp(params.get("CurrentTime")),
                    custom=custom,
                    raw=redact(dict(params)),
                )
            ]
        if params.get("Direction", "") in ("incoming", "inbound"):
            return [
                InboundCall(
                    call_id=params["CallSid"],
                    from_number=exotel_number(params.get("CallFrom", "")),
                    to_number=exotel_number(params.get("CallTo", "")),
                    direction="inbound",
                    at=parse_timestamp(params.get("Created") or params.get("CurrentTime")),
                    custom=custom,
                    raw=redact(dict(params)),
                )
            ]
        return []

    def price(self, msg: OutboundMessage, status: str) -> Decimal:
        return standard_price(msg, status, self.credentials.rates)


def _params(request: WebhookRequest) -> dict[str, Any]:
    """Query + form, or a JSON body (Exotel posts JSON when asked for it)."""
    params: dict[str, Any] = request.params
    if not request.form and request.raw_body.strip().startswith(b"{"):
        try:
            params = {**params, **request.body_json}
        except ValueError as exc:
            raise WebhookMalformed(f"body is not JSON: {exc}") from exc
    params.pop(TOKEN_PARAM, None)
    params.pop(REFERENCE_PARAM, None)
    return params


def _incoming_sms(params: Mapping[str, Any]) -> InboundMessage:
    return InboundMessage(
        provider_id=params["SmsSid"],
        from_number=exotel_number(params["From"]),
        channel="sms",
        text=params.get("Body", ""),
        to_number=exotel_number(params.get("To", "")),
        at=parse_timestamp(params.get("Date")),
        raw=redact(dict(params)),
    )
