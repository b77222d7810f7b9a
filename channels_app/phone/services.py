"""Customer actions from the phone view, each sent as a signed simulator webhook through the
same path as a real provider's (so journeys react to them live)."""

from __future__ import annotations

import secrets

from django.utils import timezone

from channels_app.models.calls import Call
from channels_app.models.outbox import Message
from channels_app.outbox.simulated import simulator_post
from channels_app.providers.simulator import SimEvent
from channels_app.webhooks.services import WebhookAnswer
from console.models import Customer

ACTIONS = ("reply", "tap", "answer", "decline", "key", "hangup", "call_in")


class PhoneActionInvalid(ValueError):
    pass


def _event(customer: Customer, **fields) -> SimEvent:
    base = {"at": timezone.now().isoformat(), "from_number": customer.phone}
    return SimEvent(**{**base, **fields})


def _call(customer: Customer, call_id: str) -> Call:
    call = Call.objects.filter(customer=customer, pk=int(call_id or 0)).first()
    if call is None:
        raise PhoneActionInvalid("call: this call is not on this phone any more.")
    return call


def _call_ref(call: Call) -> tuple[str, str]:
    message = Message.objects.filter(pk=call.message_id).first() if call.message_id else None
    provider_id = call.provider_call_id or (message.provider_id if message else "")
    return provider_id, message.idempotency_key if message else ""


def phone_act(*, customer: Customer, action: str, data: dict[str, str]) -> WebhookAnswer:
    """Play one customer action; ``data`` holds text / message / payload / call / digit."""
    if action not in ACTIONS:
        raise PhoneActionInvalid(f"action: use one of {', '.join(ACTIONS)}.")
    token = secrets.token_hex(6)
    if action in ("reply", "tap"):
        events = [_message_event(customer, action, data, token)]
    elif action == "call_in":
        events = [_event(customer, type="inbound_call", provider_id=f"SIMCAin{token}",
                         channel="voice")]  # fmt: skip
    else:
        events = [_call_event(customer, action, data)]
    answer = simulator_post(workspace=customer.workspace, events=events)
    if action == "key" and answer.ivr is not None and answer.ivr.hangup:
        # The IVR said its last words and hangs up: the provider reports the call completed.
        ended = _call_event(customer, "hangup", {"call": str(answer.ivr.call_id or "")})
        simulator_post(workspace=customer.workspace, events=[ended])
    return answer


def _message_event(customer: Customer, action: str, data: dict, token: str) -> SimEvent:
    channel = data.get("channel", "whatsapp")
    if channel not in ("sms", "whatsapp"):
        raise PhoneActionInvalid("channel: reply on sms or whatsapp.")
    text = (data.get("text") or "").strip()
    context = ""
    if action == "tap":
        message = Message.objects.filter(customer=customer, pk=int(data.get("message") or 0))
        found = message.first()
        if found is None:
            raise PhoneActionInvalid("message: that message is not on this phone.")
        context, text = found.provider_id, data.get("payload", "")
    if not text:
        raise PhoneActionInvalid("text: type a reply first.")
    payload = data.get("payload", "") if action == "tap" else ""
    return _event(
        customer, type="message", provider_id=f"SIMin{token}", channel=channel, text=text,
        button_payload=payload, button_title=payload, context_id=context,
    )  # fmt: skip


def _call_event(customer: Customer, action: str, data: dict) -> SimEvent:
    call = _call(customer, data.get("call", ""))
    provider_id, reference = _call_ref(call)
    if action == "key":
        digit = data.get("digit", "")
        if len(digit) != 1 or digit not in "0123456789*#":
            raise PhoneActionInvalid("digit: press one key, 0-9, * or #.")
        return _event(customer, type="keypress", provider_id=provider_id, channel="voice",
                      digits=digit)  # fmt: skip
    status = {"answer": "answered", "decline": "busy", "hangup": "completed"}[action]
    return _event(customer, type="call", provider_id=provider_id, channel="voice",
                  status=status, reference=reference)  # fmt: skip
