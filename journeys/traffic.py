"""The demo traffic generator: orders and loans for demo customers at a steady rate, and the
follow-up events (dispatched, delivered, approved, payment due/received) for runs waiting on them,
so the console is alive on first start. Switched per workspace in the console (EngineSettings)."""

from __future__ import annotations

import random
from datetime import timedelta

from console.models import Customer
from console.services import events_ingest
from journeys.clock import clock_now, real_now
from journeys.models import EngineSettings, Run

COURIERS = ("BlueDart", "Delhivery", "Ecom Express", "XpressBees")
# Share of waiting runs that get their follow-up event on a tick (the rest wait or time out).
FOLLOW_UP_SHARE = 0.6


def traffic_tick(*, rng: random.Random | None = None) -> int:
    """One tick for every workspace with traffic on; returns the number of events sent."""
    rng = rng or random.Random()
    sent = 0
    for row in EngineSettings.objects.filter(traffic_enabled=True).select_related("workspace"):
        now = real_now()
        elapsed = (now - row.traffic_last_at).total_seconds() / 60 if row.traffic_last_at else 1
        count = min(row.traffic_per_minute * 2, max(0, round(row.traffic_per_minute * elapsed)))
        EngineSettings.objects.filter(pk=row.pk).update(traffic_last_at=now)
        if count:
            sent += traffic_generate(row.workspace, count, rng)
    return sent


def traffic_generate(workspace, count: int, rng: random.Random) -> int:
    """``count`` new orders/loans plus follow-ups for waiting runs, in one events batch."""
    journey_now = clock_now(workspace)
    ids = list(Customer.objects.filter(workspace=workspace).values_list("id", flat=True)[:5000])
    if not ids:
        return 0
    customers = Customer.objects.in_bulk(rng.sample(ids, min(count, len(ids))))
    items = []
    for customer in customers.values():
        items.append(_new_matter(customer, rng, journey_now))
    items += _follow_ups(workspace, rng, journey_now, limit=count * 2)
    outcomes = events_ingest(workspace=workspace, items=items, source="demo")
    return sum(o.status == "created" for o in outcomes)


def _event(customer_external_id: str, name: str, key: str, **properties) -> dict:
    return {
        "event_id": f"traffic-{key}-{name}",
        "name": name,
        "customer": {"external_id": customer_external_id},
        "properties": properties,
    }


def _new_matter(customer: Customer, rng: random.Random, now) -> dict:
    token = f"{now:%y%m%d%H%M%S}{rng.randrange(10_000):04d}"
    roll = rng.random()
    if roll < 0.6:
        return _event(customer.external_id, "order.placed", token, order_id=f"OD{token}",
                      amount=rng.randrange(299, 9999))  # fmt: skip
    if roll < 0.8:
        amount = rng.randrange(50_000, 500_000, 1000)
        name = "loan.application_received"
        return _event(customer.external_id, name, token, loan_id=f"LN{token}", amount=amount)
    emi_due = (now + timedelta(days=rng.randrange(1, 6))).date().isoformat()
    return _event(customer.external_id, "payment.due", token, loan_id=f"LN{token}",
                  emi_amount=rng.randrange(1500, 25000, 50), emi_due_date=emi_due)  # fmt: skip


def _follow_ups(workspace, rng: random.Random, now, *, limit: int) -> list[dict]:
    waiting = (
        Run.objects.filter(workspace=workspace, status="waiting")
        .exclude(waiting_event="")
        .select_related("customer")
        .order_by("wake_at")[:limit]
    )
    items = []
    for run in waiting:
        if rng.random() > FOLLOW_UP_SHARE:
            continue
        props = _follow_up_properties(run, rng, now)
        if props is not None:
            key = f"{run.pk}-{run.node_id}-{run.state.get('attempts', {}).get(run.node_id, 1)}"
            items.append(_event(run.customer.external_id, run.waiting_event, key, **props))
    return items


def _follow_up_properties(run: Run, rng: random.Random, now) -> dict | None:
    key, value = run.correlation_key or "order_id", run.correlation_value
    name = run.waiting_event
    if name == "order.dispatched":
        return {key: value, "courier": rng.choice(COURIERS),
                "delivery_date": (now + timedelta(days=2)).date().isoformat()}  # fmt: skip
    if name == "loan.approved":
        due = (now + timedelta(days=rng.randrange(4, 9))).date().isoformat()
        return {
            key: value,
            "loan_amount": rng.randrange(50_000, 500_000, 1000),
            "emi_amount": rng.randrange(1500, 25000, 50),
            "tenure_months": rng.choice((12, 24, 36)),
            "emi_due_date": due,
        }
    if name == "payment.received":
        return {key: value, "amount": rng.randrange(1500, 25000, 50),
                "payment_id": f"PAY-{rng.randrange(10**6)}"}  # fmt: skip
    if name in ("order.delivered", "loan.closed"):
        return {key: value}
    return None
