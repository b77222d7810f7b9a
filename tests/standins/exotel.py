"""An Exotel API stand-in: DLT SMS, calls into a flow, status callbacks and Passthru requests.

DLT is checked the way an operator does it, after acceptance: the request needs the entity and
template ids (400 otherwise), and when ``templates`` registers a template's text, a body that does
not fit it is accepted and then fails with DetailedStatusCode 23082; a promotional SMS to a number
in ``dnd`` fails as ``failed_dnd``. ``complete`` plays the decided outcome to the StatusCallback.
Exotel does not sign callbacks: the token lives in the callback URL the adapter gave us.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from channels_app.providers.base import with_query
from tests.standins.base import Fault, Recorded, Reply, StandinServer, basic_auth, callback_post

ROUTE = re.compile(
    r"^/v1/Accounts/(?P<sid>[\w-]+)/(?P<what>Sms/send|SMS/Messages/(?P<sms>\w+)|Calls/connect"
    r"|Calls/(?P<call>\w+))(?P<json>\.json)?$"
)
E164 = re.compile(r"^\+?[1-9]\d{9,14}$|^0\d{10}$")
IST = ZoneInfo("Asia/Kolkata")


def _now() -> str:
    return datetime.now(IST).strftime("%Y-%m-%d %H:%M:%S")


def _template_regex(text: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in text.split("{#var#}")]
    return re.compile("^" + "(.{1,30})".join(parts) + "$", re.DOTALL)


class ExotelStandin(StandinServer):
    def __init__(
        self,
        api_key: str = "exo-key",
        api_token: str = "exo-token",
        account_sid: str = "sangam1",
        caller_id: str = "08047112345",
        templates: dict[str, str] | None = None,
        dnd: set[str] | None = None,
    ):
        super().__init__()
        self.api_key, self.api_token, self.account_sid = api_key, api_token, account_sid
        self.caller_id = caller_id
        self.templates = {k: _template_regex(v) for k, v in (templates or {}).items()}
        self.dnd = dnd or set()
        self.sms: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.callbacks: dict[str, str] = {}
        self.custom: dict[str, str] = {}
        self.final: dict[str, tuple[str, str, str]] = {}  # sid -> (Status, DetailedStatus, code)

    def error_reply(self, status: int, code: str, message: str) -> Reply:
        body: dict[str, Any] = {"Status": status, "Message": message or "Error"}
        if code:
            body["Code"] = int(code)
        return Reply(status, {"RestException": body})

    def rate_limit_reply(self, fault: Fault) -> Reply:
        reply = self.error_reply(429, "", "Too many requests")
        reply.headers["Retry-After"] = fault.retry_after
        return reply

    def server_error_reply(self) -> Reply:
        return self.error_reply(500, "", "Internal server error")

    # --- routing --------------------------------------------------------------------------------

    def route(self, request: Recorded) -> Reply:
        if basic_auth(request) != (self.api_key, self.api_token):
            return self.error_reply(401, "", "Authentication is required to view this page.")
        match = ROUTE.match(request.path)
        if not match or match["sid"] != self.account_sid:
            return self.error_reply(404, "", "Not Found")
        if request.method == "GET":
            sid = match["sms"] or match["call"]
            store, key = (self.sms, "SMSMessage") if match["sms"] else (self.calls, "Call")
            return (
                Reply(200, {key: store[sid]})
                if sid in store
                else self.error_reply(404, "", "Not Found")
            )
        if match["what"] == "Sms/send":
            return self._send_sms(request.form)
        if match["what"] == "Calls/connect":
            return self._connect(request.form)
        return self.error_reply(405, "", "Method not allowed")

    def _sms_problem(self, form: dict[str, str]) -> str:
        for name in ("From", "To", "Body", "DltEntityId", "DltTemplateId"):
            if not form.get(name):
                return f"Missing parameter: {name}"
        if not E164.match(form["To"]):
            return f"Invalid To number: {form['To']}"
        if form.get("EncodingType", "plain") not in ("plain", "unicode"):
            return "EncodingType must be plain or unicode"
        if form.get("EncodingType", "plain") == "plain" and not form["Body"].isascii():
            return "Body has non-GSM characters: use EncodingType=unicode"
        return ""

    def _send_sms(self, form: dict[str, str]) -> Reply:
        problem = self._sms_problem(form)
        if problem:
            return self.error_reply(400, "", problem)
        sid = secrets.token_hex(16)
        units = 1 + len(form["Body"]) // (67 if form.get("EncodingType") == "unicode" else 153)
        self.sms[sid] = {
            "Sid": sid,
            "AccountSid": self.account_sid,
            "From": f"/{self.account_sid}/{form['From']}",
            "To": form["To"],
            "DateCreated": _now(),
            "DateUpdated": _now(),
            "DateSent": None,
            "Body": form["Body"],
            "Direction": "outbound-api",
            "Price": None,
            "Status": "queued",
            "DetailedStatusCode": 21010,
            "DetailedStatus": "PENDING_TO_OPERATOR",
            "SmsUnits": units,
            "Uri": f"/v1/Accounts/{self.account_sid}/SMS/Messages/{sid}.json",
        }
        self.callbacks[sid] = form.get("StatusCallback", "")
        self.custom[sid] = form.get("CustomField", "")
        self.final[sid] = self._dlt_outcome(form)
        return Reply(200, {"SMSMessage": self.sms[sid]})

    def _dlt_outcome(self, form: dict[str, str]) -> tuple[str, str, str]:
        pattern = self.templates.get(form["DltTemplateId"])
        if self.templates and (pattern is None or not pattern.match(form["Body"])):
            return "failed", "FAILED_DLT_TEMPLATE_MISMATCH", "23082"
        if form.get("SmsType") == "promotional" and form["To"] in self.dnd:
            return "failed_dnd", "FAILED_DND", "22003"
        return "sent", "DELIVERED_TO_HANDSET", "20005"

    def _connect(self, form: dict[str, str]) -> Reply:
        if not form.get("From") or not E164.match(form["From"]):
            return self.error_reply(400, "", f"Invalid From number: {form.get('From')}")
        if form.get("CallerId") != self.caller_id:
            return self.error_reply(400, "", "CallerId is not an ExoPhone of this account")
        if not form.get("Url") and not form.get("To"):
            return self.error_reply(400, "", "Either Url or To is required")
        sid = secrets.token_hex(16)
        self.calls[sid] = {
            "Sid": sid,
            "ParentCallSid": None,
            "DateCreated": _now(),
            "DateUpdated": _now(),
            "AccountSid": self.account_sid,
            "To": form.get("To") or form["CallerId"],
            "From": form["From"],
            "PhoneNumberSid": form["CallerId"],
            "Status": "in-progress",
            "StartTime": _now(),
            "EndTime": None,
            "Duration": None,
            "Price": None,
            "Direction": "outbound-api",
            "Uri": f"/v1/Accounts/{self.account_sid}/Calls/{sid}.json",
        }
        self.callbacks[sid] = form.get("StatusCallback", "")
        self.custom[sid] = form.get("CustomField", "")
        self.final[sid] = ("completed", "", "")
        return Reply(200, {"Call": self.calls[sid]})

    # --- callbacks ------------------------------------------------------------------------------

    def sms_status(self, sid: str, status: str, detailed: str = "", code: str = "") -> Any:
        with self.lock:
            item = self.sms[sid]
            item.update(Status=status, DetailedStatus=detailed, DetailedStatusCode=code)
            item.update(
                DateUpdated=_now(), DateSent=_now(), Price="0.20" if status == "sent" else None
            )
        form = {
            "SmsSid": sid,
            "To": item["To"],
            "Status": status,
            "DetailedStatus": detailed,
            "DetailedStatusCode": code,
            "SmsUnits": str(item["SmsUnits"]),
            "DateSent": item["DateSent"],
            "CustomField": self.custom[sid],
        }
        return callback_post(self.callbacks[sid], headers={}, data=form)

    def call_status(self, sid: str, status: str, duration: int = 0) -> Any:
        with self.lock:
            item = self.calls[sid]
            item.update(Status=status, EndTime=_now(), Duration=str(duration))
        form = {
            "CallSid": sid,
            "Status": status,
            "ConversationDuration": str(duration),
            "DateUpdated": _now(),
            "RecordingUrl": "",
            "CustomField": self.custom[sid],
        }
        return callback_post(self.callbacks[sid], headers={}, data=form)

    def complete(self, sid: str) -> Any:
        status, detailed, code = self.final[sid]
        if sid in self.calls:
            return self.call_status(sid, status, duration=14)
        return self.sms_status(sid, status, detailed, code)

    def passthru(
        self,
        url: str,
        call_sid: str,
        *,
        digits: str | None,
        custom: str = "",
        direction: str = "outbound-dial",
        caller: str = "09812345678",
    ) -> Any:
        """The GET a Passthru applet makes; ``digits`` goes on the wire wrapped in quotes."""
        import httpx

        params = {
            "CallSid": call_sid,
            "CallFrom": caller,
            "CallTo": self.caller_id,
            "Direction": direction,
            "Created": _now(),
            "CurrentTime": _now(),
            "CustomField": custom,
            "flow_id": "12345",
            "tenant_id": "1",
        }
        if digits is not None:
            params["digits"] = f'"{digits}"'
        with httpx.Client(timeout=5.0) as client:
            return client.get(with_query(url, **params))  # keeps our token in the query
