"""Caller context for inbound calls: a registry of providers (higher apps register, e.g. the
journey engine speaks the active run's order status) and a fallback from the recent timeline."""

from __future__ import annotations

import logging
from collections.abc import Callable

from console.models import Customer, Event

log = logging.getLogger("sangam.ivr")
ContextProvider = Callable[[Customer], str | None]
_PROVIDERS: list[ContextProvider] = []

ORDER_PHRASES = {
    "order.placed": "Your order #{id} is confirmed.",
    "order.dispatched": "Your order #{id} has been dispatched.",
    "order.out_for_delivery": "Your order #{id} is out for delivery today.",
    "order.delivered": "Your order #{id} has been delivered.",
    "order.cancelled": "Your order #{id} was cancelled.",
}


def ivr_context_register(fn: ContextProvider) -> None:
    """Register ``fn(customer) -> sentence or None``; the first non-empty answer is spoken."""
    if fn not in _PROVIDERS:
        _PROVIDERS.append(fn)


def _timeline_context(customer: Customer) -> str | None:
    event = (
        Event.objects.filter(customer=customer, name__startswith="order.")
        .order_by("-occurred_at", "-id")
        .first()
    )
    if event is None:
        return None
    props = event.properties or {}
    order_id = props.get("order_id") or props.get("id") or ""
    phrase = ORDER_PHRASES.get(event.name)
    if phrase is None:
        status = event.name.split(".", 1)[1].replace("_", " ")
        phrase = "Your order #{id} is " + status + "."
    text = phrase.format(id=order_id)
    if props.get("eta"):
        text = text.rstrip(".") + f", arriving by {props['eta']}."
    return text


def caller_context(customer: Customer | None) -> str:
    if customer is None:
        return ""
    for fn in _PROVIDERS:
        try:
            text = fn(customer)
        except Exception:  # noqa: BLE001  (a broken provider must not drop the call)
            log.exception("caller context provider %r failed", fn)
            continue
        if text:
            return text
    return _timeline_context(customer) or ""
