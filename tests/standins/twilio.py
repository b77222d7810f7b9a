"""A Twilio REST API stand-in: Messages and Calls, basic auth, error bodies, signed callbacks.

State: every created message/call is kept, so GET by sid and the filtered list answer like Twilio
does. WhatsApp numbers in ``whatsapp_window`` have an open 24-hour window; a free-form WhatsApp
message to anyone else is accepted (201) and then fails with 63016, as Twilio does it
(asynchronously, visible on fetch and through ``complete``).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ET

from channels_app.providers.twilio import twilio_signature
from tests.standins.base import Fault, Recorded, Reply, StandinServer, basic_auth, callback_post

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
DOCS = "https://www.twilio.com/docs/errors/{}"
ROUTE = re.compile(
    r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/(?P<kind>Messages|Calls)(?:/(?P<id>\w+))?\.json$"
)


def _now() -> str:
    return format_datetime(datetime.now(UTC))


class TwilioStandin(StandinServer):
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "tw-token-12345"):
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.callbacks: dict[str, str] = {}  # sid -> StatusCallback URL
        self.final: dict[str, tuple[str, str]] = {}  # sid -> (status, error code) for complete()
        self.whatsapp_window: set[str] = set()

    # --- error shapes ---------------------------------------------------------------------------

    def error_reply(self, status: int, code: str, message: str) -> Reply:
        body = {
            "code": int(code) if code else status,
            "message": message or "Error",
            "more_info": DOCS.format(code),
            "status": status,
        }
        return Reply(status, body)

    def rate_limit_reply(self, fault: Fault) -> Reply:
        reply = self.error_reply(429, "20429", "Too Many Requests")
        reply.headers["Retry-After"] = fault.retry_after
        return reply

    def server_error_reply(self) -> Reply:
        return self.error_reply(500, "20500", "Internal Server Error")

    # --- routing --------------------------------------------------------------------------------

    def route(self, request: Recorded) -> Reply:
        match = ROUTE.match(request.path)
        if not match:
            return self.error_reply(404, "20404", "The requested resource was not found")
        if basic_auth(request) != (self.account_sid, self.auth_token) or (
            match["sid"] != self.account_sid
        ):
            return Reply(
                401,
                {
                    "code": 20003,
                    "detail": "Your AccountSid or AuthToken was incorrect.",
                    "message": "Authenticate",
                    "more_info": DOCS.format(20003),
                    "status": 401,
                },
            )
        store = self.messages if match["kind"] == "Messages" else self.calls
        if request.method == "GET" and match["id"]:
            item = store.get(match["id"])
            return Reply(200, item) if item else self.error_reply(404, "20404", "Not found")
        if request.method == "GET":
            return Reply(200, self._listing(match["kind"], request))
        if match["kind"] == "Messages":
            return self._create_message(request)
        return self._create_call(request)

    def _listing(self, kind: str, request: Recorded) -> dict[str, Any]:
        to = request.query.get("To", [""])[0]
        items = [
            i
            for i in (self.messages if kind == "Messages" else self.calls).values()
            if not to or i["to"] == to
        ]
        return {kind.lower(): items, "page": 0, "page_size": 50}

    def _create_message(self, request: Recorded) -> Reply:
        form = request.form
        to, sender = form.get("To", ""), form.get("From", "")
        if not to:
            return self.error_reply(400, "21604", "A 'To' phone number is required.")
        if not sender and not form.get("MessagingServiceSid"):
            return self.error_reply(400, "21603", "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("ContentSid"):
            return self.error_reply(400, "21602", "Message body is required.")
        is_wa = to.startswith("whatsapp:")
        if sender and is_wa != sender.startswith("whatsapp:"):
            return self.error_reply(400, "21910", "Invalid From and To pair.")
        if not E164.match(to.removeprefix("whatsapp:")):
            return self.error_reply(
                400, "21211", f"The 'To' number {to} is not a valid phone number."
            )
        if len(form.get("Body", "")) > 1600:
            return self.error_reply(400, "21617", "The concatenated message body exceeds 1600.")
        sid = "SM" + secrets.token_hex(16)
        self.messages[sid] = self._message_resource(sid, form)
        self.callbacks[sid] = form.get("StatusCallback", "")
        outside = is_wa and not form.get("ContentSid") and to[9:] not in self.whatsapp_window
        self.final[sid] = ("failed", "63016") if outside else ("delivered", "")
        if outside:
            self._update(self.messages[sid], "failed", "63016")
        return Reply(201, self.messages[sid])

    def _message_resource(self, sid: str, form: dict[str, str]) -> dict[str, Any]:
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body", ""),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "date_created": _now(),
            "date_updated": _now(),
            "date_sent": None,
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def _create_call(self, request: Recorded) -> Reply:
        form = request.form
        if not form.get("To") or not E164.match(form["To"]):
            return self.error_reply(400, "21211", f"The 'To' number {form.get('To')} is not valid.")
        if not form.get("From"):
            return self.error_reply(400, "21213", "A 'From' phone number is required.")
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return self.error_reply(400, "21205", "Url parameter is required.")
        if form.get("Twiml"):
            try:
                ET.fromstring(form["Twiml"])
            except ET.ParseError:
                return self.error_reply(400, "12100", "Document parse failure")
        sid = "CA" + secrets.token_hex(16)
        self.calls[sid] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form["From"],
            "status": "queued",
            "direction": "outbound-api",
            "duration": None,
            "date_created": _now(),
            "date_updated": _now(),
            "price": None,
        }
        self.callbacks[sid] = form.get("StatusCallback", "")
        self.final[sid] = ("completed", "")
        return Reply(201, self.calls[sid])

    def _update(self, item: dict[str, Any], status: str, error_code: str = "") -> None:
        item.update(
            status=status, date_updated=_now(), error_code=int(error_code) if error_code else None
        )
        if status == "delivered":
            item["price"] = "-0.0079"

    # --- callbacks ------------------------------------------------------------------------------

    def signed_post(self, url: str, form: dict[str, str]) -> Any:
        signature = twilio_signature(url, form, self.auth_token)
        return callback_post(url, headers={"X-Twilio-Signature": signature}, data=form)

    def message_status(self, sid: str, status: str, error_code: str = "", **extra: str) -> Any:
        """Move a message to ``status`` and call its StatusCallback (with unknown extras too)."""
        with self.lock:
            item = self.messages[sid]
            self._update(item, status, error_code)
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": item["to"],
            "From": item["from"] or "",
            "ApiVersion": "2010-04-01",
            **extra,
        }
        if error_code:
            form["ErrorCode"] = error_code
        return self.signed_post(self.callbacks[sid], form)

    def call_status(self, sid: str, status: str, duration: int | None = None) -> Any:
        with self.lock:
            item = self.calls[sid]
            item.update(status=status, duration=str(duration) if duration is not None else None)
        form = {
            "CallSid": sid,
            "AccountSid": self.account_sid,
            "CallStatus": status,
            "To": item["to"],
            "From": item["from"],
            "Direction": "outbound-api",
        }
        if duration is not None:
            form["CallDuration"] = str(duration)
        return self.signed_post(self.callbacks[sid], form)

    def complete(self, sid: str) -> Any:
        """Play the outcome the stand-in decided at create time (delivered, or 63016)."""
        status, code = self.final[sid]
        if sid.startswith("CA"):
            return self.call_status(sid, status, duration=12)
        return self.message_status(sid, status, code)
