"""Fixtures for the engine's database tests: a frozen clock, tasks run inline, templates, customers,
and helpers to send events and feed channel outcomes."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from channels_app.consent.services import consent_grant, consent_withdraw
from console.models import Customer, Event
from console.services import events_ingest
from journeys.clock import clock_frozen, real_now

IST = ZoneInfo("Asia/Kolkata")
_ids = itertools.count(1)


def tomorrow_ist(hour: int, minute: int = 0) -> datetime:
    """A moment after now (consent cannot be recorded in the future), in IST."""
    day = (timezone.now().astimezone(IST) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


@pytest.fixture
def clock():
    with clock_frozen(tomorrow_ist(10)) as frozen:
        yield frozen


@pytest.fixture
def engine_sync(monkeypatch):
    """Run the engine's django-q2 tasks inline (the listener still sends ONE call per batch)."""
    import importlib

    calls: list[tuple[str, tuple]] = []

    def run(func: str, *args):
        calls.append((func, args))
        module, _, name = func.rpartition(".")
        if name == "webhook_task":
            return None  # outbound HTTP is tested on its own
        return getattr(importlib.import_module(module), name)(*args)

    monkeypatch.setattr("journeys.tasks._async", run)
    # The test holds one transaction open, so "after commit" never comes: listen at once instead.
    monkeypatch.setattr("console.services._after_commit", lambda callback: callback())
    return calls


@pytest.fixture
def templates(workspace):
    from channels_app.tmpl.demo import demo_templates_seed
    from journeys.demo import engine_templates_seed

    demo_templates_seed(workspace)
    engine_templates_seed(workspace)
    return workspace


@pytest.fixture
def make_customer(workspace):
    def make(
        *, whatsapp=True, consent=("sms", "whatsapp", "voice"), promotional=False, ws=None, **attrs
    ):
        n = next(_ids)
        customer = Customer.objects.create(
            workspace=ws or workspace, external_id=f"C{n}", name=f"Priya Test{n}",
            phone=f"+9198{n:08d}", whatsapp=whatsapp, attributes=attrs,
        )  # fmt: skip
        for channel in consent:
            consent_grant(
                customer=customer,
                channel=channel,
                purpose="service",
                source="form",
                proof="test form",
            )
        if promotional:
            consent_grant(
                customer=customer,
                channel="sms",
                purpose="promotional",
                source="form",
                proof="test form",
            )
        return customer

    return make


def withdraw(customer, channel, purpose="service"):
    consent_withdraw(customer=customer, channel=channel, purpose=purpose, source="form")


def send_event(customer, name, event_id=None, source="api", **properties):
    outcome = events_ingest(
        workspace=customer.workspace,
        items=[
            {
                "event_id": event_id or f"{name}-{customer.pk}-{next(_ids)}",
                "name": name,
                "customer": {"external_id": customer.external_id},
                "properties": properties,
                "occurred_at": real_now().isoformat(),
            }
        ],
        source=source,
    )[0]
    assert outcome.status in ("created", "duplicate"), outcome
    return outcome.id


def feed(message, status, **extra):
    """A channel outcome for ``message`` as the outbox reports it: an Event via the listener."""
    properties = {
        "message_key": message.idempotency_key, "message_id": message.pk,
        "channel": message.channel, "template_key": message.template_key,
        "run_id": message.run_id, "node_id": message.node_id, **extra,
    }  # fmt: skip
    name = status if "." in status else f"message.{status}"
    return send_event(
        message.customer, name, event_id=f"msg:{message.pk}:{name}", source="channel", **properties
    )


def events_of(customer):
    return list(Event.objects.filter(customer=customer).values_list("name", flat=True))


@pytest.fixture(autouse=True)
def _fresh_graph_cache():
    """Parsed versions are cached by id; test databases reuse ids after each rollback."""
    from journeys.services.stepping import _graphs

    _graphs.clear()
    yield
    _graphs.clear()
