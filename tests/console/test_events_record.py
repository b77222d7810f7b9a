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


def test_a_key_a_concurrent_writer_stores_first_is_a_duplicate_and_the_rest_are_stored(
    workspace, customer, heard, monkeypatch
):
    import console.services as services

    # Another request commits "msg:7:sent" just after our read of the stored keys.
    stored = Event.objects.create(workspace=workspace, customer=customer, name="message.sent",
                                  occurred_at=AT, received_at=AT, idempotency_key="msg:7:sent")  # fmt: skip
    monkeypatch.setattr(services, "_stored_ids", _misses_once(services._stored_ids))
    ids = events_record(
        workspace=workspace,
        events=[_event(customer, "msg:7:sent"), _event(customer, "msg:7:read", "message.read")],
    )
    read = Event.objects.get(idempotency_key="msg:7:read")
    assert ids == [read.pk] and heard == [[read.pk]]  # the racing key is not announced again
    assert set(Event.objects.values_list("id", flat=True)) == {stored.pk, read.pk}


def _misses_once(real_read):
    calls = []

    def read(workspace, keys):
        calls.append(keys)
        return {} if len(calls) == 1 else real_read(workspace, keys)

    return read
