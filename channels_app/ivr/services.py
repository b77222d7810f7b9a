"""Writes of the IVR: calls, their statuses, key presses and the actions a digit triggers, and
inbound calls greeted with the caller's context. Every call status and key press becomes an event
(``call.answered``, ``call.keypress`` ...), inbound calls ``inbound.call`` (a contact)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.ivr.context import caller_context, caller_context_full
from channels_app.ivr.menus import (
    DigitAction,
    action_for,
    inbound_menu,
    menu_for,
    menu_row_for,
)
from channels_app.models.calls import Call, CallKeyPress
from channels_app.models.outbox import Message
from channels_app.outbox.outcomes import channel_events_emit, message_outcome_record
from channels_app.providers.base import CallStatus, InboundCall, KeyPress
from console.live import live_publish
from console.models import Customer
from console.services import events_ingest

CALL_RANK = {"queued": 0, "ringing": 1, "answered": 2, "completed": 3}
CALL_TERMINAL = ("busy", "no_answer", "failed", "completed")
MESSAGE_STATUS_OF_CALL = {
    "ringing": "sent",
    "answered": "delivered",
    "busy": "undelivered",
    "no_answer": "undelivered",
    "failed": "failed",
}
CALL_EVENTS = ("answered", "no_answer", "busy", "completed", "failed")


@dataclass(frozen=True)
class IvrAnswer:
    """What the IVR says next; ``menu`` empty and ``hangup`` true end the call."""

    say: str
    menu: dict[str, str] = field(default_factory=dict)
    hangup: bool = False
    call_id: int | None = None
    valid: bool = True


def call_for_message_create(*, message: Message) -> Call:
    """The outbound Call row of a voice-bot Message (idempotent: one per message)."""
    call, _ = Call.objects.get_or_create(
        message=message,
        defaults={
            "workspace": message.workspace,
            "customer": message.customer,
            "direction": "outbound",
            "prompt": message.rendered_text,
            "language": message.language,
            "from_number": message.to_number,
            "started_at": message.created_at,
            "status_at": message.created_at,
        },
    )
    return call


def call_placed(*, message: Message, provider_call_id: str, at: datetime) -> None:
    call = call_for_message_create(message=message)
    Call.objects.filter(pk=call.pk).update(
        provider_call_id=provider_call_id, provider_kind=message.provider_kind, started_at=at
    )


def call_events_emit(call: Call, items: list[tuple[str, str, dict]], at) -> list[int]:
    """Events of a call: keyed on its message when it has one, else on the call."""
    if call.message_id:
        message = Message.objects.select_related("customer", "workspace").get(pk=call.message_id)
        return channel_events_emit(message, items, at)
    if call.customer_id is None:
        return []
    customer = Customer.objects.get(pk=call.customer_id)
    base = {"call_id": call.pk, "channel": "voice", "direction": call.direction}
    outcomes = events_ingest(
        workspace=customer.workspace,
        items=[
            {
                "event_id": f"call:{call.pk}:{suffix}",
                "customer": {"external_id": customer.external_id},
                "name": name,
                "occurred_at": at,
                "properties": {**base, **extra},
            }
            for suffix, name, extra in items
        ],
        source="channel",
    )
    return [o.id for o in outcomes if o.status == "created" and o.id is not None]


def call_status_apply(*, message: Message, outcome: CallStatus, source: str) -> list[int]:
    """A call status for an outbound call: the Call moves forward only; events once each."""
    call = Call.objects.select_for_update().get(pk=call_for_message_create(message=message).pk)
    return _call_status(call, outcome.status, outcome.at, outcome.duration_s, source, message)


def _call_status(call: Call, status: str, at, duration, source, message=None) -> list[int]:
    at = at or timezone.now()
    ids: list[int] = []
    moves = call.status not in CALL_TERMINAL and (
        status in CALL_TERMINAL or CALL_RANK.get(status, 0) > CALL_RANK.get(call.status, 0)
    )
    if moves:
        call.status, call.status_at = status, at
        if duration is not None:
            call.duration_s = duration
        call.save(update_fields=["status", "status_at", "duration_s"])
        live_publish(f"customer:{call.customer_id}", kind="call")
    if status in CALL_EVENTS:
        extra = {"status": status, "duration_s": duration, "digits": call.keys}
        ids += call_events_emit(call, [(f"call.{status}", f"call.{status}", extra)], at)
    if message is not None and status in MESSAGE_STATUS_OF_CALL:
        ids += message_outcome_record(
            message=message, status=MESSAGE_STATUS_OF_CALL[status], at=at, source=source
        )
    return ids


def inbound_call_status_apply(*, workspace, outcome: CallStatus, source: str) -> bool:
    """A status (e.g. the hang-up) of an inbound call, which has no outbox message; False when
    no inbound call has that id."""
    call = (
        Call.objects.select_for_update()
        .filter(workspace=workspace, direction="inbound", provider_call_id=outcome.call_id)
        .order_by("-id")
        .first()
    )
    if call is None or not outcome.call_id:
        return False
    _call_status(call, outcome.status, outcome.at, outcome.duration_s, source, None)
    return True


def call_find(*, workspace, provider_call_id: str = "", call_id: int | None = None) -> Call | None:
    qs = Call.objects.select_for_update().filter(workspace=workspace)
    if call_id:
        return qs.filter(pk=call_id).first()
    if provider_call_id:
        return qs.filter(provider_call_id=provider_call_id).order_by("-id").first()
    return None


def keypress_receive(*, workspace, press: KeyPress, call_id: int | None = None) -> IvrAnswer:
    """Record the key, report ``call.keypress`` and run the digit's action."""
    call = call_find(workspace=workspace, provider_call_id=press.call_id, call_id=call_id)
    if call is None:
        return IvrAnswer("Sorry, we could not find this call.", hangup=True, valid=False)
    at = press.at or timezone.now()
    digit = press.digits[:1]
    if not digit:
        return _answer(call, call.prompt, valid=False)
    seq = call.presses.count() + 1
    action = _action(call, digit)
    try:
        with transaction.atomic():
            CallKeyPress.objects.create(call=call, seq=seq, digits=digit, action=action.action)
    except IntegrityError:
        return _answer(call, call.prompt)
    call.keys = (call.keys + digit)[:64]
    call.save(update_fields=["keys"])
    extra = {"digit": digit, "seq": seq, "action": action.action, "label": action.label}
    call_events_emit(call, [(f"keypress:{seq}", "call.keypress", extra)], at)
    said = _run(call, action, seq, at)
    return _answer(call, said, hangup=action.action in ("send", "agent"))


def _template_menu(call: Call) -> dict[str, str]:
    if call.message_id is None:
        return {}
    return dict((Message.objects.get(pk=call.message_id).spec or {}).get("menu") or {})


def _action(call: Call, digit: str) -> DigitAction:
    if call.direction == "inbound":
        return action_for(_inbound_menu(call), digit, {})
    key = Message.objects.filter(pk=call.message_id).values_list("template_key", flat=True).first()
    menu = menu_for(workspace=call.workspace, key=key or "", language=call.language or "en")
    return action_for(menu, digit, _template_menu(call))


def _run(call: Call, action: DigitAction, seq: int, at) -> str:
    if action.action == "send":
        return _send(call, action, seq, at)
    if action.action == "agent":
        call_events_emit(call, [("agent", "agent.requested", {"digit": action.digit})], at)
        Call.objects.filter(pk=call.pk).update(outcome="agent callback requested")
        return action.say or "Thank you. Someone from our team will call you back shortly."
    if action.action == "repeat":
        customer = Customer.objects.filter(pk=call.customer_id).first()
        return caller_context(customer) or "We have no update for you right now."
    return action.say or f"Thank you. You chose {action.label.replace('_', ' ') or action.digit}."


def _send(call: Call, action: DigitAction, seq: int, at) -> str:
    from channels_app.outbox.services import message_enqueue

    if call.customer_id is None:
        return "Sorry, we could not find your account."
    customer = Customer.objects.select_related("workspace").get(pk=call.customer_id)
    message = Message.objects.filter(pk=call.message_id).first()
    # An inbound call has no message: the caller's context (e.g. their loan) fills the template.
    variables = dict(message.variables) if message else caller_context_full(customer).variables
    result = message_enqueue(
        workspace=customer.workspace,
        customer=customer,
        channel=action.channel,
        template_key=action.template_key,
        purpose="transactional",
        variables=variables,
        idempotency_key=f"ivr:{call.pk}:{seq}",
        run_id=message.run_id if message else None,
        node_id=message.node_id if message else "",
        at=at,
    )
    Call.objects.filter(pk=call.pk).update(outcome=f"{action.template_key}: {result.status}")
    if result.status in ("queued", "deferred"):
        label = {"sms": "an SMS", "whatsapp": "WhatsApp"}.get(result.channel, "a message")
        return action.say or f"Thank you. We are sending you the details by {label}."
    return "Sorry, we cannot send that right now. Please try again later."


def _answer(call: Call, say: str, *, hangup: bool = False, valid: bool = True) -> IvrAnswer:
    Call.objects.filter(pk=call.pk).update(prompt=say)
    live_publish(f"customer:{call.customer_id}", kind="call")
    menu = {} if hangup else _menu_labels(call)
    return IvrAnswer(say, menu, hangup, call.pk, valid)


def _menu_labels(call: Call) -> dict[str, str]:
    if call.direction == "outbound":
        return _template_menu(call)
    return _inbound_menu(call).menu_labels()


def _inbound_menu(call: Call):
    language = call.language or "en"
    return inbound_menu(workspace=call.workspace, menu_id=call.menu_id, language=language)


def inbound_call_receive(*, workspace, provider_kind: str, item: InboundCall) -> IvrAnswer:
    """Match the caller, record ``inbound.call`` once, and greet with their context (and the
    menu that context names, when the workspace has it)."""
    from channels_app.webhooks.inbound import customer_for_phone

    customer = customer_for_phone(workspace=workspace, phone=item.from_number, create=False)
    at = item.at or timezone.now()
    context = caller_context_full(customer)
    language = customer.language if customer else "en"
    row = None
    if context.menu_key:
        row = menu_row_for(workspace=workspace, key=context.menu_key, language=language or "en")
    call, created = Call.objects.get_or_create(
        workspace=workspace,
        provider_call_id=item.call_id,
        direction="inbound",
        defaults={
            "customer": customer,
            "provider_kind": provider_kind,
            "from_number": item.from_number,
            "status": "answered",
            "language": language,
            "menu_id": row.pk if row else None,
            "started_at": at,
            "status_at": at,
        },
    )
    if created:
        call_events_emit(call, [("inbound", "inbound.call", {"from": item.from_number})], at)
    greeting = _inbound_menu(call).greeting
    prompt = " ".join(p for p in (context.text, greeting) if p)
    return _answer(call, prompt)


def call_hangup(*, call: Call, at=None) -> None:
    _call_status(call, "completed", at, None, "phone", None)
