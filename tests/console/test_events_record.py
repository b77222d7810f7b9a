"""The product's own events (channel outcomes) stored by ``events_record``: no validation or
customer lookup, but the same once-per-key rule and the same after-commit listeners as
``events_ingest``."""

from datetime import UTC, datetime

import pytest

from console.models import Customer, Event
from console.services import KnownEvent, events_ingest, events_record

AT = datetime(2026, 12, 5, 4, 30, tzinfo=UTC)


@pytest.fixture
def heard(monkeypatch):
    """The ids each listener call received (the test's transaction never commits)."""
    calls: list[list[int]] = []
    monkeypatch.setattr("console.services._after_commit", lambda callback: callback())
    monkeypatch.setattr("console.services._EVENTS_COMMITTED", [calls.append])
    return calls


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(workspace=workspace, external_id="C1", phone="+919800000001")


def _event(customer, key: str, name: str = "message.sent", **props) -> KnownEvent:
    return KnownEvent(key, customer.pk, name, {"message_id": 7, **props}, AT)


def test_known_events_are_stored_with_their_columns_and_announced_once(workspace, customer, heard):
    ids = events_record(
        workspace=workspace,
        events=[
            _event(customer, "msg:7:sent"),
            _event(customer, "msg:7:delivered", "message.delivered"),
        ],
    )
    rows = {e.idempotency_key: e for e in Event.objects.filter(pk__in=ids)}
    assert sorted(rows) == ["msg:7:delivered", "msg:7:sent"]
    sent = rows["msg:7:sent"]
    assert (sent.customer_id, sent.name, sent.source) == (customer.pk, "message.sent", "channel")
    assert sent.properties == {"message_id": 7} and sent.occurred_at == AT
    assert heard == [ids]


def test_a_key_stored_before_or_twice_in_one_batch_is_stored_once(workspace, customer, heard):
    first = events_record(workspace=workspace, events=[_event(customer, "msg:7:sent")])
    again = events_record(
        workspace=workspace,
        events=[
            _event(customer, "msg:7:sent"),
            _event(customer, "msg:7:read", "message.read"),
            _event(customer, "msg:7:read", "message.read"),
        ],
    )
    assert len(first) == 1 and len(again) == 1
    assert Event.objects.filter(workspace=workspace).count() == 2
    assert heard == [first, again]  # only new ids reach the listeners


def test_api_events_and_known_events_share_the_key_space(workspace, customer, heard):
    events_record(workspace=workspace, events=[_event(customer, "order-1", "order.placed")])
    outcome = events_ingest(
        workspace=workspace,
        items=[{"event_id": "order-1", "customer": {"external_id": "C1"}, "name": "order.placed"}],
    )[0]
    assert outcome.status == "duplicate"
    assert outcome.id == Event.objects.get(idempotency_key="order-1").pk
    assert len(heard) == 1
