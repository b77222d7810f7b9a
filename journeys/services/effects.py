"""What the engine's effects become: outbox messages, customer attributes, webhook calls.

Sends and calls go to ``message_enqueue`` inside the batch transaction (the outbox row is unique
on the step's idempotency key, so a replayed batch writes no second message). An enqueue that is
refused at once (blocked by policy, failed to render, deferred by quiet hours) is answered with a
SendVerdict at once; a queued one waits for the dispatcher's ``message.sent`` event. Attribute
updates and webhook rows are written after the run rows (``after_persist``); the webhook call itself
happens in a task after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction

from journeys.engine import (
    CallRequest,
    Effect,
    Input,
    SendRequest,
    SendVerdict,
    UpdateAttribute,
    WebhookCall,
)

if TYPE_CHECKING:
    from journeys.services.stepping import Work


@dataclass
class EffectResult:
    attributes: dict[str, Any] = field(default_factory=dict)
    webhooks: list[WebhookCall] = field(default_factory=list)
    messages: list[tuple[str, Any]] = field(default_factory=list)  # (key, EnqueueResult)

    def after_persist(self, work: Work) -> None:
        if self.attributes:
            _attributes_update(work, self.attributes)
        if self.webhooks:
            _webhooks_create(work, self.webhooks)


def effects_apply(work: Work, effects: Iterable[Effect]) -> list[Input]:
    """Carry out ``effects`` for one run; returns the verdicts known at once."""
    verdicts: list[Input] = []
    for effect in effects:
        if isinstance(effect, SendRequest | CallRequest):
            verdict = _enqueue(work, effect)
            if verdict is not None:
                verdicts.append(verdict)
        elif isinstance(effect, UpdateAttribute):
            work.effects.attributes[effect.name] = effect.value
        elif isinstance(effect, WebhookCall):
            work.effects.webhooks.append(effect)
    return verdicts


def _enqueue(work: Work, request: SendRequest | CallRequest) -> SendVerdict | None:
    from channels_app.outbox.services import message_enqueue

    is_call = isinstance(request, CallRequest)
    channel = "voice" if is_call else request.channel
    template = request.template or next(iter(getattr(request, "templates", {}).values()), "")
    suppressed = suppressed_by(work, request.purpose)
    if suppressed:
        return SendVerdict(request.key, work.now, "skipped", f"held back by {suppressed}")
    result = message_enqueue(
        workspace=work.run.workspace,
        customer=work.run.customer,
        channel=channel,
        template_key=template,
        purpose=request.purpose,
        variables=dict(request.variables),
        idempotency_key=request.key,
        run_id=work.run.pk,
        node_id=request.node_id,
        at=work.now,
        kind="call" if is_call else "message",
    )
    work.effects.messages.append((request.key, result))
    if result.status == "blocked":
        return SendVerdict(request.key, work.now, "skipped", result.reason, channel=result.channel)
    if result.status == "failed":
        reason = result.detail or result.reason or "could not be prepared"
        return SendVerdict(request.key, work.now, "failed", reason, channel=result.channel)
    if result.status == "deferred":
        return SendVerdict(
            request.key, work.now, "deferred", result.reason or "quiet_hours", result.until,
            result.channel,
        )  # fmt: skip
    return None


def suppressed_by(work: Work, purpose: str) -> str:
    """The name of a higher-priority journey whose active run holds this purpose back, or ""."""
    suppressors = getattr(work, "suppressors", None) or ()
    for priority, purposes, name in suppressors:
        if priority > work.graph.priority and purpose in purposes:
            return name
    return ""


def _attributes_update(work: Work, values: dict[str, Any]) -> None:
    from console.schemas import CustomerIn
    from console.services import customer_upsert

    customer = work.run.customer
    data = CustomerIn.model_validate({"external_id": customer.external_id, "attributes": values})
    customer_upsert(workspace=work.run.workspace, data=data)


def _webhooks_create(work: Work, calls: list[WebhookCall]) -> None:
    from journeys.models import WebhookDelivery
    from journeys.tasks import webhook_enqueue

    rows = [
        WebhookDelivery(
            run_id=work.run.pk,
            key=call.key,
            url=call.url,
            method=call.method,
            body=dict(call.body),
            timeout_seconds=call.timeout_seconds,
            created_at=work.now,
        )  # fmt: skip
        for call in calls
    ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [call.key for call in calls]
    transaction.on_commit(lambda: webhook_enqueue(keys))
