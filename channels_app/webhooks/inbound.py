"""Inbound messages: match the customer by phone, record ``inbound.message`` (which opens the
WhatsApp service window), apply STOP/START keywords and queue their confirmation, and turn
replies and button taps into ``message.replied`` / ``message.clicked`` on the message answered."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.consent.services import consent_keyword_apply
from channels_app.models.outbox import SENT_STATUSES, Message
from channels_app.outbox.outcomes import channel_events_emit, message_outcome_record
from channels_app.policy import Decision
from channels_app.providers.base import InboundMessage
from console.models import Customer
from console.services import events_ingest

REPLY_WINDOW = timedelta(days=7)


def customer_for_phone(*, workspace, phone: str, create: bool = True) -> Customer | None:
    customer = Customer.objects.filter(workspace=workspace, phone=phone).order_by("id").first()
    if customer is not None or not create or not phone:
        return customer
    try:
        with transaction.atomic():
            return Customer.objects.create(
                workspace=workspace, external_id=f"phone:{phone}", phone=phone
            )
    except IntegrityError:
        return Customer.objects.get(workspace=workspace, external_id=f"phone:{phone}")


def _answered(customer: Customer, item: InboundMessage, provider_kind: str) -> Message | None:
    qs = Message.objects.select_related("customer", "workspace").filter(customer=customer)
    if item.context_id:
        found = qs.filter(provider_id=item.context_id).first()
        if found is not None:
            return found
    since = (item.at or timezone.now()) - REPLY_WINDOW
    return (
        qs.filter(channel=item.channel, status__in=SENT_STATUSES, sent_at__gte=since)
        .order_by("-sent_at", "-id")
        .first()
    )


def inbound_message_receive(*, workspace, provider_kind: str, item: InboundMessage) -> Customer:
    """Record one inbound message; idempotent on the provider's message id."""
    customer = customer_for_phone(workspace=workspace, phone=item.from_number)
    at = item.at or timezone.now()
    keyword = consent_keyword_apply(customer=customer, channel=item.channel, text=item.text)
    answered = _answered(customer, item, provider_kind)
    props = {
        "channel": item.channel,
        "text": item.text,
        "keyword": keyword.action if keyword else "",
        "button": item.button_payload,
        "button_title": item.button_title,
        "provider": provider_kind,
        "provider_id": item.provider_id,
        "in_reply_to": answered.idempotency_key if answered else "",
    }
    outcomes = events_ingest(
        workspace=workspace,
        items=[
            {
                "event_id": f"in:{provider_kind}:{item.provider_id}",
                "customer": {"external_id": customer.external_id},
                "name": "inbound.message",
                "occurred_at": at,
                "properties": props,
            }
        ],
        source="channel",
    )
    if outcomes[0].status != "created":
        return customer  # a redelivery: everything below already happened
    if keyword is not None:
        confirmation_enqueue(customer=customer, channel=item.channel, keyword=keyword, at=at)
    if answered is not None and keyword is None:
        _reply_record(answered, item, at)
    return customer


def _reply_record(message: Message, item: InboundMessage, at) -> None:
    extra = {"text": item.text, "button": item.button_payload, "button_title": item.button_title}
    message_outcome_record(
        message=message, status="replied", at=at, source="inbound", properties=extra
    )
    if item.button_payload or item.button_title:
        channel_events_emit(
            message, [("clicked", "message.clicked", {**extra, "status": "clicked"})], at
        )


def confirmation_enqueue(*, customer: Customer, channel: str, keyword, at) -> Message:
    """The STOP/START confirmation: a service reply the customer asked for, allowed as such."""
    decision = Decision("send", "keyword_confirmation", None, "Reply to a consent keyword")
    message, _ = Message.objects.get_or_create(
        workspace=customer.workspace,
        idempotency_key=f"keyword:{keyword.entry.pk}",
        defaults=dict(
            customer=customer,
            channel=channel,
            purpose="service",
            template_key="",
            language=keyword.language,
            rendered_text=keyword.confirmation,
            to_number=customer.phone,
            status="queued",
            due_at=at,
            created_at=at,
            status_at=at,
            **Message.decision_fields(decision),
        ),
    )
    from channels_app.outbox.tasks import outbox_kick

    outbox_kick()
    return message
