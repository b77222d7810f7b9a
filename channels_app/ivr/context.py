"""Caller context for inbound calls: a registry of providers (higher apps register, e.g. the
journey engine speaks the active run's order status) and a fallback from the recent timeline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.models import Customer, Event

log = logging.getLogger("sangam.ivr")


@dataclass(frozen=True)
class CallerContext:
    """What a provider knows about the caller: the sentence spoken first, optionally the IVR
    menu (``IvrMenu.key``) that fits it, and values for the templates its digits send."""

    text: str
    menu_key: str = ""
    variables: dict[str, Any] = field(default_factory=dict)


ContextProvider = Callable[[Customer], "str | CallerContext | None"]
_PROVIDERS: list[ContextProvider] = []

ORDER_PHRASES = {
    "order.placed": "Your order #{id} is confirmed.",
    "order.dispatched": "Your order #{id} has been dispatched.",
    "order.out_for_delivery": "Your order #{id} is out for delivery today.",
    "order.delivered": "Your order #{id} has been delivered.",
    "order.cancelled": "Your order #{id} was cancelled.",
}


def ivr_context_register(fn: ContextProvider) -> None:
    """Register ``fn(customer) -> sentence, CallerContext or None``; the first non-empty answer
    is spoken (and its menu, if the workspace has one by that key, is offered)."""
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


def caller_context_full(customer: Customer | None) -> CallerContext:
    """The first registered provider's answer, else the latest order event on the timeline."""
    if customer is None:
        return CallerContext("")
    for fn in _PROVIDERS:
        try:
            found = fn(customer)
        except Exception:  # noqa: BLE001  (a broken provider must not drop the call)
            log.exception("caller context provider %r failed", fn)
            continue
        if isinstance(found, CallerContext) and found.text:
            return found
        if isinstance(found, str) and found:
            return CallerContext(found)
    return CallerContext(_timeline_context(customer) or "")


def caller_context(customer: Customer | None) -> str:
    return caller_context_full(customer).text
