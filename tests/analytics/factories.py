"""Rows of other apps built directly (analytics only reads them)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from channels_app.models.consent import ConsentEntry
from channels_app.models.outbox import Message, MessageStatusChange
from console.models import Customer, Event
from journeys.models import Journey, JourneyVersion, Run, Step

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def journey_make(workspace, name="EMI reminder", versions=(1,)) -> Journey:
    journey = Journey.objects.create(
        workspace=workspace, name=name, status="live", current_version=max(versions)
    )
    for n in versions:
        JourneyVersion.objects.create(journey=journey, number=n, graph={}, published_at=T0)
    return journey


def customer_make(workspace, n: int, phone: str | None = None) -> Customer:
    return Customer.objects.create(
        workspace=workspace, external_id=f"C{n}", name=f"Customer {n}",
        phone=phone or f"+9198{n:08d}",
    )  # fmt: skip


def run_make(journey, customer, *, version=1, hours=0.0, holdout=False, status="active",
             key="") -> Run:  # fmt: skip
    v = journey.versions.get(number=version)
    return Run.objects.create(
        workspace=journey.workspace, journey=journey, version=v, customer=customer,
        status=status, entered_at=at(hours), holdout=holdout, correlation_key="loan_id",
        correlation_value=key, enrol_key=f"e{Run.objects.count() + 1}:{customer.pk}:{hours}",
    )  # fmt: skip


def step_make(run, node_id, *, kind="send", port="out", hours=0.0) -> Step:
    attempt = run.steps.filter(node_id=node_id).count() + 1
    return Step.objects.create(
        run=run, node_id=node_id, kind=kind, attempt=attempt, entered_at=at(hours),
        left_at=at(hours), port=port,
    )  # fmt: skip


def run_end(run, status, hours, goal=False) -> None:
    run.status, run.ended_at = status, at(hours)
    if goal:
        run.goal_reached_at = at(hours)
    run.save()


def message_make(customer, *, run=None, node="send", channel="whatsapp", status="queued",
                 hours=0.0, cost=None, provider="simulator", template="emi", language="en",
                 reason="") -> Message:  # fmt: skip
    return Message.objects.create(
        workspace=customer.workspace, customer=customer, channel=channel,
        provider_kind=provider, purpose="service", template_key=template, language=language,
        status=status, decision_reason=reason, cost=Decimal(cost) if cost else None,
        idempotency_key=f"m{Message.objects.count() + 1}", run_id=run.pk if run else None,
        node_id=node if run else "", created_at=at(hours), status_at=at(hours),
        decision_action="block" if status == "blocked" else "send",
    )  # fmt: skip


def status_make(message, status, hours, cost=None) -> None:
    """A status change row, and the message moved with it (the outbox changes a message's
    status, time and cost only together with a new status change row)."""
    _, created = MessageStatusChange.objects.get_or_create(
        message=message, status=status, defaults={"at": at(hours)}
    )
    if not created:
        return
    message.status = status
    if status == "sent":
        message.sent_at = at(hours)
    if cost is not None:
        message.cost = Decimal(cost)
    message.save()


def event_make(customer, name, hours, **props) -> Event:
    return Event.objects.create(
        workspace=customer.workspace, customer=customer, name=name, properties=props,
        occurred_at=at(hours), received_at=at(hours),
        idempotency_key=f"ev{Event.objects.count() + 1}",
    )  # fmt: skip


def consent_make(customer, channel="sms", status="withdrawn", hours=0.0) -> ConsentEntry:
    return ConsentEntry.objects.create(
        workspace=customer.workspace, customer=customer, channel=channel, purpose="promotional",
        status=status, source="keyword", actor_label="customer", at=at(hours),
    )  # fmt: skip
