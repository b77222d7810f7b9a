"""One entry for every provider webhook: verify the signature on the raw body FIRST (nothing is
stored when it fails; a security log line is written), store the receipt (a redelivery is a
duplicate, answered 2xx), then process statuses and inbound items in one transaction.

The views and the simulator's sweep and phone view all call ``webhook_receive``: one parsing and
verification path for real and simulated traffic. ``webhook_receipts_replay`` (run by the outbox
sweep) processes receipts a crash left stored but unprocessed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from django.db import IntegrityError, transaction
from django.db.models import F
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
from channels_app.webhooks.status import statuses_prepare, statuses_receive, statuses_write
from console.db import prepared_write
from console.models import Workspace

log = logging.getLogger("sangam.webhooks")
security_log = logging.getLogger("sangam.security")
LIVE_CALL_ENDPOINTS = ("voice/gather", "voice/inbound", "passthru")
REPLAY_AFTER_S = 60  # a receipt unprocessed this long was left behind by a crash
REPLAY_ATTEMPTS = 5  # replays that raise before a receipt is given up (its error kept)
# A receipt keeps this much of a body: a longer one could not be replayed whole (Meta batches
# statuses; the simulator posts up to EVENTS_PER_POST outcomes per webhook).
RECEIPT_BODY_CHARS = 262_144
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
                body=request.raw_body.decode("utf-8", "replace")[:RECEIPT_BODY_CHARS],
            )
    except IntegrityError:
        return None


def webhook_receive(
    *,
    kind: str,
    owner_id: int,
    endpoint: str,
    request: WebhookRequest,
    call_id: int | None = None,
    owner: Owner | None = None,
    adapter=None,
) -> WebhookAnswer:
    """Verify, store, process; see the module docstring. ``call_id`` names our Call for IVR
    action URLs that carry it. In-process senders (the simulator's sweep) may pass the ``owner``
    and ``adapter`` they already hold instead of having them read again for every post."""
    owner = owner or owner_resolve(kind, owner_id)
    if owner is None or endpoint not in ENDPOINTS.get(kind, ()):
        return WebhookAnswer(404, "unknown webhook")
    adapter = adapter or adapter_for(workspace=owner.workspace, account=owner.account)
    if not adapter.verify_signature(request.url, request.headers, request.raw_body, request.form):
        security_log.warning(
            "webhook signature rejected: kind=%s owner=%s endpoint=%s url=%s",
            kind, owner_id, endpoint, request.url.split("?")[0],
        )  # fmt: skip
        return WebhookAnswer(403, "signature does not match")
    receipt = _receipt(owner, kind, endpoint, request)
    if receipt is None and endpoint not in LIVE_CALL_ENDPOINTS:
        return WebhookAnswer(200, "duplicate", duplicate=True)
    try:
        answer = _process_prepared(owner, kind, endpoint, adapter, request)
        if answer is not None:
            return answer
        with transaction.atomic():
            answer = _process(owner, kind, endpoint, adapter, request, call_id)
            # A live-call request is processed again when repeated; either way the stored
            # receipt of this body is done (the replay sweep must not run it a second time).
            _processed(kind, endpoint, request, answer)
    except WebhookMalformed as exc:
        if receipt is not None:
            WebhookReceipt.objects.filter(pk=receipt.pk).delete()
        return WebhookAnswer(400, f"malformed webhook: {exc}")
    return answer


def _processed(kind: str, endpoint: str, request: WebhookRequest, answer: WebhookAnswer) -> None:
    """Mark the stored receipt of this body done (inside the transaction that processed it)."""
    WebhookReceipt.objects.filter(
        provider_kind=kind, endpoint=endpoint, digest=_digest(endpoint, request),
        processed_at__isnull=True,
    ).update(processed_at=timezone.now(), result=answer.body[:300])  # fmt: skip


def _process_prepared(owner, kind, endpoint, adapter, request) -> WebhookAnswer | None:
    """SQLite, outside a transaction: a webhook of statuses of known messages is parsed, matched
    and worked out with reads only, then written in one short transaction that checks first
    that no message moved meanwhile, so another worker can write while this one prepares. None
    (nothing written) for anything else, or when a message moved: ``_process`` then does it all
    inside the lock."""
    if endpoint not in STATUS_ENDPOINTS:
        return None

    def prepare():
        if endpoint in INBOUND_ENDPOINTS and adapter.parse_inbound_webhook(request):
            return None
        return statuses_prepare(
            workspace=owner.workspace, outcomes=adapter.parse_status_webhook(request),
            source=f"webhook:{kind}",
        )  # fmt: skip

    def write(batch):
        if not statuses_write(batch):
            return None
        answer = WebhookAnswer(200, _summary({"applied": batch.applied}))
        _processed(kind, endpoint, request, answer)
        return answer

    return prepared_write(prepare, write)


def _summary(counts: dict[str, int], replay: bool = False) -> str:
    summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "nothing to do"
    return f"replayed: {summary}" if replay else summary


def _process(owner, kind, endpoint, adapter, request, call_id, replay=False) -> WebhookAnswer:
    source = f"webhook:{kind}"
    counts = {"applied": 0, "parked": 0, "inbound": 0}
    ivr: IvrAnswer | None = None
    if endpoint in STATUS_ENDPOINTS:
        received = statuses_receive(
            workspace=owner.workspace,
            provider_kind=kind,
            outcomes=adapter.parse_status_webhook(request),
            source=source,
        )
        for result, n in received.items():
            counts[result] += n
    if endpoint in INBOUND_ENDPOINTS:
        for item in adapter.parse_inbound_webhook(request):
            if replay and isinstance(item, KeyPress):
                counts["late keys skipped"] = counts.get("late keys skipped", 0) + 1
                continue  # the caller never heard an answer: acting now would surprise them
            counts["inbound"] += 1
            ivr = _inbound(owner, kind, item, call_id) or ivr
    return WebhookAnswer(200, _summary(counts, replay), ivr=ivr)


def _inbound(owner: Owner, kind: str, item, call_id: int | None) -> IvrAnswer | None:
    if isinstance(item, InboundMessage):
        inbound_message_receive(workspace=owner.workspace, provider_kind=kind, item=item)
        return None
    if isinstance(item, KeyPress):
        return keypress_receive(workspace=owner.workspace, press=item, call_id=call_id)
    if isinstance(item, InboundCall):
        return inbound_call_receive(workspace=owner.workspace, provider_kind=kind, item=item)
    return None


# --- receipts a crash left unprocessed ----------------------------------------------------------


def _stored_request(receipt: WebhookReceipt) -> WebhookRequest:
    """The request as it arrived (its signature was checked then; secret headers are masked)."""
    raw = receipt.body.encode("utf-8")
    headers = dict(receipt.headers or {})
    is_form = "form" in headers.get("content-type", "")
    form = dict(parse_qsl(receipt.body, keep_blank_values=True)) if is_form else {}
    method = "GET" if receipt.endpoint == "passthru" and not raw else "POST"
    return WebhookRequest(url=receipt.url, method=method, headers=headers, raw_body=raw, form=form)


def webhook_receipt_replay(receipt_id: int) -> str:
    """Process one stored, unprocessed receipt; returns its result ("" when already done).

    Safe to repeat: statuses only move forward and every event has a key. Key presses are the
    exception (each press is a new row), so a late replay records the call but runs no digit.
    """
    with transaction.atomic():
        receipt = (
            WebhookReceipt.objects.select_for_update()
            .filter(pk=receipt_id, processed_at__isnull=True)
            .first()
        )
        if receipt is None:
            return ""
        owner = owner_resolve(receipt.provider_kind, receipt.account_id or receipt.workspace_id)
        if owner is None:
            result = "replay: the account or workspace no longer exists"
        else:
            adapter = adapter_for(workspace=owner.workspace, account=owner.account)
            request = _stored_request(receipt)
            try:
                with transaction.atomic():
                    answer = _process(owner, receipt.provider_kind, receipt.endpoint, adapter,
                                      request, None, replay=True)  # fmt: skip
                result = answer.body
            except WebhookMalformed as exc:
                result = f"replay: malformed webhook: {exc}"
        WebhookReceipt.objects.filter(pk=receipt.pk).update(
            processed_at=timezone.now(), result=result[:300]
        )
    return result


def webhook_receipts_replay(
    *, older_than_s: float = REPLAY_AFTER_S, limit: int = 100, now: datetime | None = None
) -> int:
    """Process receipts stored more than ``older_than_s`` ago and never processed (a worker or
    web process died between storing and processing). Returns how many were replayed."""
    now = now or timezone.now()
    ids = list(
        WebhookReceipt.objects.filter(
            processed_at__isnull=True, received_at__lt=now - timedelta(seconds=older_than_s)
        )
        .order_by("received_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    done = 0
    for receipt_id in ids:
        try:
            done += bool(webhook_receipt_replay(receipt_id))
        except Exception as exc:  # noqa: BLE001  (one bad receipt must not stop the others)
            log.exception("replaying webhook receipt %s failed", receipt_id)
            _replay_failed(receipt_id, exc)
    return done


def _replay_failed(receipt_id: int, exc: Exception) -> None:
    """Count a replay that raised; after REPLAY_ATTEMPTS the receipt is closed with the error, so
    that receipts that always fail cannot hold the oldest places of every sweep for ever."""
    WebhookReceipt.objects.filter(pk=receipt_id, processed_at__isnull=True).update(
        replay_failures=F("replay_failures") + 1
    )
    WebhookReceipt.objects.filter(
        pk=receipt_id, processed_at__isnull=True, replay_failures__gte=REPLAY_ATTEMPTS
    ).update(
        processed_at=timezone.now(),
        result=f"replay gave up after {REPLAY_ATTEMPTS} attempts: {type(exc).__name__}: {exc}"[
            :300
        ],
    )
