"""Twilio: SMS and WhatsApp through the Messages API, Voice with TwiML, signed webhooks.

Wire format (REST API 2010-04-01): form-encoded POSTs with HTTP basic auth (account SID + auth
token), JSON answers. Creating a message or call is not idempotent, so after an ambiguous failure
the dispatcher asks ``find_sent`` (a filtered list) or ``fetch_status`` before any resend. Our
idempotency key rides on the StatusCallback URL (``sangam_ref``) so callbacks always name it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, NoReturn
from urllib.parse import urlsplit, urlunsplit

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
    strip_channel_prefix,
    with_query,
)
from channels_app.providers.transport import (
    DEFAULT_TIMEOUT_S,
    auth_failed,
    http_client,
    json_or_text,
    provider_request,
)
from channels_app.providers.twiml import twiml_gather, twiml_say

API = "/2010-04-01/Accounts/{sid}"

ERROR_REASONS = {
    "20003": "the account SID or auth token is wrong",
    "21211": "invalid 'To' phone number",
    "21212": "invalid 'From' number: use a number or sender registered on the account",
    "21408": "sending to this region is not enabled on the Twilio account (geo permissions)",
    "21610": "the recipient replied STOP and is unsubscribed from this sender",
    "21614": "the 'To' number is not a mobile number",
    "21617": "the message body is longer than 1,600 characters",
    "21656": "ContentVariables is not valid JSON for this content template",
    "30003": "the handset is unreachable (switched off or out of coverage)",
    "30004": "the message was blocked (number blocked or on a do-not-disturb list)",
    "30005": "unknown destination handset (the number does not exist)",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier as spam or unregistered traffic (check DLT registration)",
    "30008": "unknown delivery error at the carrier",
    "63007": "no WhatsApp sender is set up for this 'From' address",
    "63016": "outside the 24-hour WhatsApp window: only approved templates (ContentSid) can be "
    "sent until the customer writes again",
    "63018": "WhatsApp rate limit for this sender exceeded",
    "63024": "invalid WhatsApp recipient (not on WhatsApp)",
    "63049": "Meta held back this marketing message (per-user marketing cap); retry in 24h at "
    "the earliest",
    "13224": "invalid phone number for the call",
}

MESSAGE_STATUS = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
    "partially_delivered": "delivered",
}
CALL_STATUS = {
    "queued": "queued",
    "initiated": "queued",
    "ringing": "ringing",
    "in-progress": "answered",
    "answered": "answered",
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "failed",
}
SEND_STATUS = {"accepted": "accepted", "queued": "queued", "sending": "sent", "sent": "sent"}


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str
    sms_from: str = ""
    whatsapp_from: str = ""
    voice_from: str = ""
    messaging_service_sid: str = ""
    base_url: str = "https://api.twilio.com"
    rates: RateCard = field(default_factory=RateCard)

    def __post_init__(self) -> None:
        if not self.account_sid.startswith("AC"):
            raise ValueError("account_sid: a Twilio account SID starts with AC")
        if not self.auth_token:
            raise ValueError("auth_token: required")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TwilioCredentials:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def twilio_signature(url: str, params: Mapping[str, Any], auth_token: str) -> str:
    """Twilio's request signature: HMAC-SHA1 over the URL followed by every POST parameter as
    name + value, sorted by name (repeated names: values sorted), base64."""
    payload = url
    for name in sorted(params):
        values = params[name]
        for value in sorted(values) if isinstance(values, list | tuple) else [values]:
            payload += f"{name}{value}"
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, plus with/without the default port: proxies in front of us may add or
    drop it, and Twilio signs whichever form it called."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is None and default:
        return [url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))]
    if parts.port == default:
        return [url, urlunsplit(parts._replace(netloc=host))]
    return [url]


def twilio_error(code: str, message: str = "") -> str:
    return ERROR_REASONS.get(str(code), message or f"Twilio error {code}")


@provider_register
class TwilioAdapter:
    kind: ClassVar[str] = "twilio"
    channels: ClassVar[frozenset[str]] = frozenset({"sms", "whatsapp", "voice"})
    in_database: ClassVar[bool] = False

    def __init__(
        self,
        credentials: TwilioCredentials | Mapping[str, Any],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        client: httpx.Client | None = None,
    ):
        if not isinstance(credentials, TwilioCredentials):
            credentials = TwilioCredentials.from_mapping(credentials)
        self.credentials = credentials
        self.client = client or http_client(
            credentials.base_url,
            timeout_s=timeout_s,
            auth=(credentials.account_sid, credentials.auth_token),
        )
        self.api = API.format(sid=credentials.account_sid)

    def close(self) -> None:
        """Release the pooled connections (the dispatcher keeps one adapter per account)."""
        self.client.close()

    # --- sending --------------------------------------------------------------------------------

    def send(self, msg: OutboundMessage) -> SendResult:
        if msg.channel == "voice":
            data = self._post("/Calls.json", self._call_form(msg))
        else:
            data = self._post("/Messages.json", self._message_form(msg))
        return SendResult(data["sid"], SEND_STATUS.get(data.get("status", ""), "queued"), data)

    def _callback(self, msg: OutboundMessage) -> str:
        return with_query(msg.status_callback, **{REFERENCE_PARAM: msg.idempotency_key})

    def _message_form(self, msg: OutboundMessage) -> dict[str, str]:
        creds = self.credentials
        form = {"To": msg.to}
        if msg.channel == "whatsapp":
            form["To"] = f"whatsapp:{msg.to}"
            form["From"] = f"whatsapp:{creds.whatsapp_from}"
            wa = msg.whatsapp
            if wa.template_name and not wa.content_sid:
                raise ValueError("whatsapp.content_sid: Twilio sends templates by ContentSid")
            if wa.buttons and not wa.content_sid:
                raise ValueError("whatsapp.buttons: on Twilio, reply buttons need a ContentSid")
            if wa.content_sid:
                form["ContentSid"] = wa.content_sid
                form["ContentVariables"] = json.dumps(dict(wa.content_variables))
            else:
                form["Body"] = msg.body
        else:
            if creds.messaging_service_sid:
                form["MessagingServiceSid"] = creds.messaging_service_sid
            else:
                form["From"] = creds.sms_from
            form["Body"] = msg.body
        if msg.status_callback:
            form["StatusCallback"] = self._callback(msg)
        return form

    def _call_form(self, msg: OutboundMessage) -> dict[str, str | list[str]]:
        voice = msg.voice
        form: dict[str, str | list[str]] = {"To": msg.to, "From": self.credentials.voice_from}
        if voice.flow_url:
            form["Url"] = voice.flow_url
        elif voice.menu:
            form["Twiml"] = twiml_gather(
                voice.prompt,
                action_url=voice.gather_action_url,
                menu=voice.menu,
                language=voice.language,
                timeout_s=voice.timeout_s,
            )
        else:
            form["Twiml"] = twiml_say(voice.prompt, language=voice.language)
        if msg.status_callback:
            form["StatusCallback"] = self._callback(msg)
            form["StatusCallbackMethod"] = "POST"
            form["StatusCallbackEvent"] = ["initiated", "ringing", "answered", "completed"]
        return form

    def _post(self, path: str, form: Any) -> dict[str, Any]:
        response = provider_request(
            self.client,
            "POST",
            self.api + path,
            provider=self.kind,
            on_client_error=self._raise_client_error,
            data=form,
        )
        return response.json()

    def _raise_client_error(self, response: httpx.Response) -> NoReturn:
        body = json_or_text(response)
        code = str(body.get("code", ""))
        if response.status_code in (401, 403) or code == "20003":
            raise auth_failed(self.kind, response, body.get("message", "Authenticate"))
        raise PermanentError(
            code or str(response.status_code),
            twilio_error(code, body.get("message", "")),
            status_code=response.status_code,
            provider=self.kind,
            raw=body,
        )

    # --- reconciliation -------------------------------------------------------------------------

    def fetch_status(self, provider_id: str) -> Outcome | None:
        """The current state of a message (``SM``/``MM`` sid) or call (``CA`` sid); None if
        Twilio does not know it."""
        is_call = provider_id.startswith("CA")
        path = f"/Calls/{provider_id}.json" if is_call else f"/Messages/{provider_id}.json"
        try:
            response = provider_request(
                self.client,
                "GET",
                self.api + path,
                provider=self.kind,
                on_client_error=self._raise_client_error,
            )
        except PermanentError as exc:
            if exc.status_code == 404:
                return None
            raise
        data = response.json()
        return self._call_from_resource(data) if is_call else self._status_of(data)

    def find_sent(self, msg: OutboundMessage, since: datetime) -> SendResult | None:
        """Did an earlier, ambiguous attempt create this message? Lists messages (or calls) to
        the same number created since ``since`` and matches sender and body."""
        creds = self.credentials
        is_wa = msg.channel == "whatsapp"
        to = f"whatsapp:{msg.to}" if is_wa else msg.to
        sender = {"whatsapp": f"whatsapp:{creds.whatsapp_from}", "voice": creds.voice_from}.get(
            msg.channel, creds.sms_from
        )
        resource, key = ("Calls", "calls") if msg.channel == "voice" else ("Messages", "messages")
        date_field = "StartTime>" if msg.channel == "voice" else "DateSent>"
        params = {"To": to, date_field: (since - timedelta(days=1)).date().isoformat()}
        response = provider_request(
            self.client,
            "GET",
            f"{self.api}/{resource}.json",
            provider=self.kind,
            on_client_error=self._raise_client_error,
            params=params,
        )
        for item in response.json().get(key, []):
            if self._same_send(item, msg, sender, since):
                status = SEND_STATUS.get(item.get("status", ""), "sent")
                return SendResult(item["sid"], status, redact(item))
        return None

    def _same_send(
        self, item: Mapping[str, Any], msg: OutboundMessage, sender: str, since: datetime
    ) -> bool:
        """Created after ``since`` (5 s clock slack), from our sender, with the same body (a
        ContentSid or voice send has no body of ours to compare)."""
        created = parse_timestamp(item.get("date_created"))
        if created is None or created < since - timedelta(seconds=5):
            return False
        if sender and not self.credentials.messaging_service_sid and item.get("from") != sender:
            return False
        if msg.channel == "voice" or msg.whatsapp.content_sid:
            return True
        return item.get("body") == msg.body

    def _status_of(self, data: Mapping[str, Any]) -> StatusUpdate:
        code = str(data.get("error_code") or "")
        price = _decimal(data.get("price"))
        return StatusUpdate(
            provider_id=data["sid"],
            status=MESSAGE_STATUS.get(data.get("status", ""), "queued"),
            at=parse_timestamp(data.get("date_updated")),
            error_code=code,
            error_reason=twilio_error(code, data.get("error_message") or "") if code else "",
            price=abs(price) if price is not None else None,
            currency=data.get("price_unit") or "",
            raw=redact(dict(data)),
        )

    def _call_from_resource(self, data: Mapping[str, Any]) -> CallStatus:
        duration = data.get("duration")
        return CallStatus(
            call_id=data["sid"],
            status=CALL_STATUS.get(data.get("status", ""), "queued"),
            duration_s=int(duration) if duration not in (None, "") else None,
            at=parse_timestamp(data.get("date_updated")),
            raw=redact(dict(data)),
        )

    # --- webhooks -------------------------------------------------------------------------------

    def verify_signature(
        self, url: str, headers: Mapping[str, str], raw_body: bytes, form: Mapping[str, Any]
    ) -> bool:
        given = {k.lower(): v for k, v in headers.items()}.get("x-twilio-signature", "")
        if not given:
            return False
        token = self.credentials.auth_token
        return any(
            hmac.compare_digest(twilio_signature(candidate, form, token).encode(), given.encode())
            for candidate in _url_variants(url)
        )

    def parse_status_webhook(self, request: WebhookRequest) -> list[Outcome]:
        form = request.form
        reference = reference_of(request.url)
        if "MessageStatus" in form or "SmsStatus" in form:
            status = form.get("MessageStatus") or form.get("SmsStatus", "")
            if not form.get("MessageSid") and not form.get("SmsSid"):
                raise WebhookMalformed("MessageSid is missing")
            if status not in MESSAGE_STATUS:
                return []  # received/receiving describe inbound messages, not our sends
            code = form.get("ErrorCode", "")
            return [
                StatusUpdate(
                    provider_id=form.get("MessageSid") or form["SmsSid"],
                    status=MESSAGE_STATUS[status],
                    at=parse_timestamp(form.get("Timestamp")),
                    error_code=code,
                    error_reason=twilio_error(code, form.get("ErrorMessage", "")) if code else "",
                    reference=reference,
                    raw=redact(dict(form)),
                )
            ]
        if "CallStatus" in form:
            return [self._call_status_of(form, reference)]
        raise WebhookMalformed("neither MessageStatus nor CallStatus is present")

    def _call_status_of(self, form: Mapping[str, str], reference: str) -> CallStatus:
        if not form.get("CallSid"):
            raise WebhookMalformed("CallSid is missing")
        duration = form.get("CallDuration", "")
        return CallStatus(
            call_id=form["CallSid"],
            status=CALL_STATUS.get(form["CallStatus"], "queued"),
            duration_s=int(duration) if duration.isdigit() else None,
            at=parse_timestamp(form.get("Timestamp")),
            reference=reference,
            raw=redact(dict(form)),
        )

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[Inbound]:
        form = request.form
        if "Digits" in form:
            return [
                KeyPress(
                    call_id=form.get("CallSid", ""),
                    digits=form["Digits"].strip(),
                    from_number=strip_channel_prefix(form.get("From", "")),
                    custom=request.query.get("custom", ""),
                    raw=redact(dict(form)),
                )
            ]
        if "CallSid" in form:
            return [
                InboundCall(
                    call_id=form["CallSid"],
                    from_number=strip_channel_prefix(form.get("From", "")),
                    to_number=strip_channel_prefix(form.get("To", "")),
                    direction=form.get("Direction", "inbound"),
                    raw=redact(dict(form)),
                )
            ]
        if "MessageSid" not in form or "From" not in form:
            raise WebhookMalformed("an inbound message needs MessageSid and From")
        return [self._inbound_message_of(form)]

    def _inbound_message_of(self, form: Mapping[str, str]) -> InboundMessage:
        return InboundMessage(
            provider_id=form["MessageSid"],
            from_number=strip_channel_prefix(form["From"]),
            channel="whatsapp" if form["From"].startswith("whatsapp:") else "sms",
            text=form.get("Body", ""),
            button_payload=form.get("ButtonPayload", ""),
            button_title=form.get("ButtonText", ""),
            context_id=form.get("OriginalRepliedMessageSid", ""),
            to_number=strip_channel_prefix(form.get("To", "")),
            raw=redact(dict(form)),
        )

    def price(self, msg: OutboundMessage, status: str) -> Decimal:
        return standard_price(msg, status, self.credentials.rates)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
