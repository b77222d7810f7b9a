"""One entry for every provider webhook: verify the signature on the raw body FIRST (nothing is
stored when it fails; a security log line is written), store the receipt (a redelivery is a
duplicate, answered 2xx), then process statuses and inbound items in one transaction.

The views and the simulator's sweep and phone view all call ``webhook_receive``: one parsing and
verification path for real and simulated traffic.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.ivr.services import IvrAnswer, inbound_call_receive, keypress_receive
from channels_app.models.providers import ProviderAccount, WebhookReceipt
from channels_app.providers.base import (
    InboundCall,
    InboundMessage,
    KeyPress,
    WebhookMalformed,
    WebhookRequest,
    redact,
)
from channels_app.providers_console.services import adapter_for
from channels_app.webhooks.inbound import inbound_message_receive
from channels_app.webhooks.status import status_receive
from console.models import Workspace

security_log = logging.getLogger("sangam.security")
# Endpoints per provider kind: which parsers run.
STATUS_ENDPOINTS = {"status", "sms-status", "call-status", "events", "meta"}
INBOUND_ENDPOINTS = {"inbound", "inbound-sms", "voice/inbound", "voice/gather", "passthru"}
INBOUND_ENDPOINTS |= {"events", "meta"}
ENDPOINTS = {
    "twilio": {"status", "inbound", "voice/inbound", "voice/gather"},
    "meta": {"meta"},
    "exotel": {"sms-status", "call-status", "inbound-sms", "passthru"},
    "simulator": {"events"},
}


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: str = "ok"
    ivr: IvrAnswer | None = None
    duplicate: bool = False


@dataclass(frozen=True)
class Owner:
    workspace: Workspace
    account: ProviderAccount | None


def owner_resolve(kind: str, owner_id: int) -> Owner | None:
    if kind == "simulator":
        workspace = Workspace.objects.filter(pk=owner_id).first()
        return Owner(workspace, None) if workspace else None
    account = ProviderAccount.objects.select_related("workspace").filter(pk=owner_id, kind=kind)
    found = account.first()
    return Owner(found.workspace, found) if found else None


def _digest(endpoint: str, request: WebhookRequest) -> str:
    parts = [endpoint.encode(), request.method.encode(), request.raw_body]
    if request.method == "GET":
        parts.append(request.url.encode())
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _receipt(owner: Owner, kind: str, endpoint: str, request: WebhookRequest):
    try:
        with transaction.atomic():
            return WebhookReceipt.objects.create(
                workspace=owner.workspace,
                provider_kind=kind,
                account_id=owner.account.pk if owner.account else None,
                endpoint=endpoint,
                digest=_digest(endpoint, request),
                url=request.url[:1000],
                headers=redact(dict(request.headers)),
                body=request.raw_body.decode("utf-8", "replace")[:20000],
            )
    except IntegrityError:
        return None


def webhook_receive(
    *, kind: str, owner_id: int, endpoint: str, request: WebhookRequest, call_id: int | None = None
) -> WebhookAnswer:
    """Verify, store, process; see the module docstring. ``call_id`` names our Call for IVR
    action URLs that carry it."""
    owner = owner_resolve(kind, owner_id)
    if owner is None or endpoint not in ENDPOINTS.get(kind, ()):
        return WebhookAnswer(404, "unknown webhook")
    adapter = adapter_for(workspace=owner.workspace, account=owner.account)
    if not adapter.verify_signature(request.url, request.headers, request.raw_body, request.form):
        security_log.warning(
            "webhook signature rejected: kind=%s owner=%s endpoint=%s url=%s",
            kind, owner_id, endpoint, request.url.split("?")[0],
        )  # fmt: skip
        return WebhookAnswer(403, "signature does not match")
    receipt = _receipt(owner, kind, endpoint, request)
    if receipt is None and endpoint not in ("voice/gather", "voice/inbound", "passthru"):
        return WebhookAnswer(200, "duplicate", duplicate=True)
    try:
        with transaction.atomic():
            answer = _process(owner, kind, endpoint, adapter, request, call_id)
            if receipt is not None:
                WebhookReceipt.objects.filter(pk=receipt.pk).update(
                    processed_at=timezone.now(), result=answer.body[:300]
                )
    except WebhookMalformed as exc:
        if receipt is not None:
            WebhookReceipt.objects.filter(pk=receipt.pk).delete()
        return WebhookAnswer(400, f"malformed webhook: {exc}")
    return answer


def _process(owner, kind, endpoint, adapter, request, call_id) -> WebhookAnswer:
    source = f"webhook:{kind}"
    counts = {"applied": 0, "parked": 0, "inbound": 0}
    ivr: IvrAnswer | None = None
    if endpoint in STATUS_ENDPOINTS:
        for outcome in adapter.parse_status_webhook(request):
            result = status_receive(
                workspace=owner.workspace, provider_kind=kind, outcome=outcome, source=source
            )
            counts[result] += 1
    if endpoint in INBOUND_ENDPOINTS:
        for item in adapter.parse_inbound_webhook(request):
            counts["inbound"] += 1
            ivr = _inbound(owner, kind, item, call_id) or ivr
    summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "nothing to do"
    return WebhookAnswer(200, summary, ivr=ivr)


def _inbound(owner: Owner, kind: str, item, call_id: int | None) -> IvrAnswer | None:
    if isinstance(item, InboundMessage):
        inbound_message_receive(workspace=owner.workspace, provider_kind=kind, item=item)
        return None
    if isinstance(item, KeyPress):
        return keypress_receive(workspace=owner.workspace, press=item, call_id=call_id)
    if isinstance(item, InboundCall):
        return inbound_call_receive(workspace=owner.workspace, provider_kind=kind, item=item)
    return None
