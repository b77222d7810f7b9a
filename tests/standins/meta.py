"""A WhatsApp Cloud API stand-in: ``POST /{version}/{phone_number_id}/messages``, Graph error
bodies, and signed webhooks (``X-Hub-Signature-256``) to the app's one webhook URL.

Like the real API, a free-form or interactive message to a number whose 24-hour window is closed
is accepted (200, a wamid) and then fails in the status webhook with 131047; ``complete`` plays
that outcome, or ``delivered`` otherwise.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from typing import Any

from channels_app.providers.meta import meta_signature
from tests.standins.base import Fault, Recorded, Reply, StandinServer, callback_post

ROUTE = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<phone>\d+)/messages$")
TYPES = ("text", "template", "interactive", "image", "document")


class MetaStandin(StandinServer):
    def __init__(
        self,
        access_token: str = "EAAG-test-token",
        phone_number_id: str = "106540352242922",
        app_secret: str = "meta-app-secret",
        webhook_url: str = "",
    ):
        super().__init__()
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self.messages: dict[str, dict[str, Any]] = {}
        self.final: dict[str, tuple[str, int]] = {}
        self.whatsapp_window: set[str] = set()  # wa_ids (digits) with an open service window

    def error_reply(self, status: int, code: str, message: str) -> Reply:
        body = {
            "error": {
                "message": f"(#{code}) {message or 'Error'}",
                "type": "OAuthException",
                "code": int(code) if code else status,
                "error_data": {"messaging_product": "whatsapp", "details": message or "Error"},
                "fbtrace_id": "A" + secrets.token_hex(8),
            }
        }
        return Reply(status, body)

    def rate_limit_reply(self, fault: Fault) -> Reply:
        reply = self.error_reply(429, "130429", "Rate limit hit")
        reply.headers["Retry-After"] = fault.retry_after
        return reply

    def server_error_reply(self) -> Reply:
        return self.error_reply(500, "131000", "Something went wrong")

    # --- routing --------------------------------------------------------------------------------

    def route(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return self.error_reply(401, "190", "Invalid OAuth access token.")
        match = ROUTE.match(request.path)
        if request.method != "POST" or not match or match["phone"] != self.phone_number_id:
            return self.error_reply(400, "100", f"Unsupported post request: {request.path}")
        try:
            payload = request.json
        except ValueError:
            return self.error_reply(400, "100", "The request body is not valid JSON")
        problem = self._problem(payload)
        if problem:
            return self.error_reply(400, *problem)
        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode()
        to = payload["to"].lstrip("+")
        self.messages[wamid] = payload
        free_form = payload["type"] != "template"
        closed = free_form and to not in self.whatsapp_window
        self.final[wamid] = ("failed", 131047) if closed else ("delivered", 0)
        return Reply(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload["to"], "wa_id": to}],
                "messages": [{"id": wamid}],
            },
        )

    def _problem(self, payload: Any) -> tuple[str, str] | None:
        if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
            return "100", "The parameter messaging_product is required."
        if not str(payload.get("to", "")).lstrip("+").isdigit():
            return "100", "The parameter to is required."
        kind = payload.get("type", "text")
        if kind not in TYPES or kind not in payload:
            return "100", f"Param {kind} is required for type {kind}."
        if kind == "template":
            template = payload["template"]
            if not template.get("name") or not (template.get("language") or {}).get("code"):
                return "131008", "template.name and template.language.code are required."
        if kind == "interactive":
            buttons = payload["interactive"].get("action", {}).get("buttons", [])
            if not 1 <= len(buttons) <= 3:
                return "131009", "Buttons count is invalid: 1 to 3 reply buttons."
            if any(len(b["reply"]["title"]) > 20 for b in buttons):
                return "131009", "Button title length is invalid: at most 20 characters."
        return None

    # --- webhooks -------------------------------------------------------------------------------

    def signed_post(self, body: dict[str, Any], url: str = "") -> Any:
        raw = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(raw, self.app_secret),
        }
        return callback_post(url or self.webhook_url, headers=headers, content=raw)

    def envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "919800000000",
                "phone_number_id": self.phone_number_id,
            },
            **value,
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
        }

    def status_item(self, wamid: str, status: str, error_code: int = 0) -> dict[str, Any]:
        sent = self.messages[wamid]
        item: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": sent["to"].lstrip("+"),
        }
        if sent.get("biz_opaque_callback_data"):
            item["biz_opaque_callback_data"] = sent["biz_opaque_callback_data"]
        if sent["type"] == "template" and status != "failed":
            category = sent.get("_category", "marketing")
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": category}
        if error_code:
            item["errors"] = [
                {
                    "code": error_code,
                    "title": "error",
                    "message": "error",
                    "error_data": {"details": f"error {error_code}"},
                }
            ]
        return item

    def message_status(self, wamid: str, status: str, error_code: int = 0) -> Any:
        return self.signed_post(
            self.envelope({"statuses": [self.status_item(wamid, status, error_code)]})
        )

    def complete(self, wamid: str) -> Any:
        status, code = self.final[wamid]
        return self.message_status(wamid, status, code)

    def inbound(self, message: dict[str, Any], name: str = "Asha") -> Any:
        """Deliver an inbound ``messages[]`` item (text, button or interactive reply)."""
        message = {
            "id": "wamid.in" + secrets.token_hex(8),
            "timestamp": str(int(time.time())),
            **message,
        }
        self.whatsapp_window.add(message["from"])
        contacts = [{"profile": {"name": name}, "wa_id": message["from"]}]
        return self.signed_post(self.envelope({"contacts": contacts, "messages": [message]}))
