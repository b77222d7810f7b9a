"""What an inbound caller hears first, from their open journey runs: the order a run follows and
its latest status event ("Your order #58821 is out for delivery today, arriving by 6 PM."), or the
EMI a loan run is about (due date and amount). Registered with channels_app's IVR in hooks.py;
the menu named here (``order_inbound`` / ``emi_inbound``) is offered when the workspace has it."""

from __future__ import annotations

from datetime import date
from typing import Any

from channels_app.ivr.context import CallerContext
from console.models import Customer, Event
from journeys.models import OPEN_RUN_STATUSES, Run

ORDER_MENU = "order_inbound"
EMI_MENU = "emi_inbound"
RUNS_LOOKED_AT = 10
EVENTS_LOOKED_AT = 50


def journey_caller_context(customer: Customer) -> CallerContext | None:
    """The newest open run that follows an order or a loan speaks; None: nothing to say."""
    runs = Run.objects.filter(customer=customer, status__in=OPEN_RUN_STATUSES).order_by(
        "-entered_at", "-id"
    )
    for run in runs[:RUNS_LOOKED_AT]:
        context = dict((run.state or {}).get("context") or {})
        if context.get("order_id"):
            return _order_context(customer, str(context["order_id"]))
        if context.get("emi_due_date") and context.get("emi_amount"):
            return _emi_context(context)
    return None


def _latest_order_event(customer: Customer, order_id: str) -> Event | None:
    events = Event.objects.filter(customer=customer, name__startswith="order.").order_by(
        "-occurred_at", "-id"
    )
    for event in events[:EVENTS_LOOKED_AT]:
        if str((event.properties or {}).get("order_id", "")) == order_id:
            return event
    return None


def order_sentence(order_id: str, name: str, props: dict[str, Any]) -> str:
    courier = f" with {props['courier']}" if props.get("courier") else ""
    if name == "order.out_for_delivery":
        eta = f", arriving by {props['eta']}" if props.get("eta") else ""
        return f"Your order #{order_id} is out for delivery today{eta}."
    if name == "order.dispatched":
        day = _spoken_date(props.get("delivery_date"))
        arriving = f", arriving on {day}" if day else ""
        return f"Your order #{order_id} has been dispatched{courier}{arriving}."
    if name == "order.delivered":
        return f"Your order #{order_id} has been delivered."
    if name == "order.cancelled":
        return f"Your order #{order_id} was cancelled."
    return f"Your order #{order_id} is confirmed."


def _order_context(customer: Customer, order_id: str) -> CallerContext:
    event = _latest_order_event(customer, order_id)
    name, props = (event.name, dict(event.properties or {})) if event else ("order.placed", {})
    text = order_sentence(order_id, name, props)
    return CallerContext(text, menu_key=ORDER_MENU, variables={"order_id": order_id, **props})


def _emi_context(context: dict[str, Any]) -> CallerContext:
    amount = rupees(context["emi_amount"])
    day = _spoken_date(context["emi_due_date"]) or str(context["emi_due_date"])
    loan = f" for loan {context['loan_id']}" if context.get("loan_id") else ""
    text = f"Your EMI of {amount}{loan} is due on {day}."
    keys = ("loan_id", "emi_amount", "emi_due_date")
    return CallerContext(
        text, menu_key=EMI_MENU, variables={k: context[k] for k in keys if k in context}
    )


def rupees(value: Any) -> str:
    """8450 -> "₹8,450"; 125000 -> "₹1,25,000" (Indian digit grouping)."""
    try:
        whole = int(float(value))
    except (TypeError, ValueError):
        return str(value)
    digits = str(abs(whole))
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    text = ",".join(([head] if head else []) + groups + [tail])
    return ("-" if whole < 0 else "") + "₹" + text


def _spoken_date(value: Any) -> str:
    """ISO "2026-03-05" -> "5 March"; anything else -> ""."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return ""
    return f"{day.day} {day:%B}"
