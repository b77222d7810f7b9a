"""The batch writers of console.db on the suite's database (SQLite by default, PostgreSQL in the
CI's second run, where rows travel as one array per column): every column type the engine
writes comes back as it went in."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from channels_app.models.outbox import Message, MessageStatusChange
from console.db import ids_reserve, rows_insert, rows_update, values_insert, values_update
from console.models import Customer, Event

AT = datetime(2026, 12, 5, 10, 30, 0, 123456, tzinfo=UTC)
AWKWARD = 'quote " backslash \\ comma, brace { } newline\n हिन्दी'


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(workspace=workspace, external_id="C1", phone="+919800000001")


def _insert(rows: list[Message]) -> None:
    """Rows inserted as the outbox writes them: keys reserved, then one INSERT."""
    ids_reserve(Message, rows)
    rows_insert(Message, rows, keys=True)


def _message(customer, key: str, **fields) -> Message:
    base = dict(workspace=customer.workspace, customer=customer, channel="sms",
                purpose="service", template_key="t", idempotency_key=key, to_number="+91",
                created_at=AT, status_at=AT)  # fmt: skip
    base.update(fields)
    return Message(**base)


def test_rows_insert_with_reserved_keys_round_trips_every_column_type(customer):
    rows = [
        _message(customer, "k1", rendered_text=AWKWARD, cost=Decimal("0.1150"),
                 spec={"a": [1, None, AWKWARD]}, variables={}, due_at=None),
        _message(customer, "k2", rendered_text="", cost=Decimal("0"), spec={}, due_at=AT),
    ]  # fmt: skip
    _insert(rows)
    first, second = (Message.objects.get(pk=row.pk) for row in rows)
    assert first.idempotency_key == "k1" and second.idempotency_key == "k2"
    assert first.rendered_text == AWKWARD and first.spec == {"a": [1, None, AWKWARD]}
    assert first.cost == Decimal("0.1150") and first.due_at is None
    assert second.due_at == AT and second.created_at == AT and second.spec == {}


def test_values_update_writes_the_last_values_of_a_key_given_twice(customer):
    rows = [_message(customer, f"k{i}") for i in range(3)]
    _insert(rows)
    later = AT + timedelta(hours=1)
    values_update(Message, ["status", "sent_at", "error_reason"], [
        (rows[0].pk, ["sending", AT, AWKWARD]),
        (rows[1].pk, ["sent", None, ""]),
        (rows[0].pk, ["sent", later, "last"]),
    ])  # fmt: skip
    got = {m.pk: m for m in Message.objects.all()}
    assert (got[rows[0].pk].status, got[rows[0].pk].sent_at) == ("sent", later)
    assert got[rows[0].pk].error_reason == "last"
    assert (got[rows[1].pk].status, got[rows[1].pk].sent_at) == ("sent", None)
    assert got[rows[2].pk].status == "queued"  # not named: untouched
    rows[2].status = "blocked"
    rows_update(Message, [rows[2]], ["status"])
    assert Message.objects.get(pk=rows[2].pk).status == "blocked"


def test_values_insert_skips_conflicts_only_when_asked(customer):
    message = _message(customer, "k1")
    _insert([message])
    fields = ["message", "status", "at", "source", "applied", "detail", "raw", "recorded_at"]
    row = [message.pk, "sent", AT, "dispatch", True, AWKWARD, {"k": AWKWARD}, AT]
    values_insert(MessageStatusChange, fields, [row, [*row[:5], "again", {}, AT]],
                  ignore_conflicts=True)  # fmt: skip
    stored = MessageStatusChange.objects.get()
    assert (stored.detail, stored.raw, stored.applied) == (AWKWARD, {"k": AWKWARD}, True)
    with pytest.raises(IntegrityError), transaction.atomic():
        values_insert(MessageStatusChange, fields, [row])
    assert MessageStatusChange.objects.count() == 1


def test_values_insert_stores_many_rows_in_order(customer):
    fields = ["workspace", "customer", "name", "properties", "occurred_at", "received_at",
              "source", "idempotency_key"]  # fmt: skip
    rows = [[customer.workspace_id, customer.pk, "order.placed", {"n": n}, AT, AT, "api", f"e{n}"]
            for n in range(1200)]  # fmt: skip
    values_insert(Event, fields, rows)
    stored = dict(Event.objects.values_list("idempotency_key", "properties"))
    assert len(stored) == 1200 and stored["e1199"] == {"n": 1199}


def test_datetimes_read_back_are_aware_and_equal_also_null_and_aggregated(customer):
    from zoneinfo import ZoneInfo

    from django.db.models import Max

    ist = AT.astimezone(ZoneInfo("Asia/Kolkata"))
    rows = [_message(customer, "d1", due_at=ist), _message(customer, "d2", due_at=None)]
    rows_insert(Message, rows)
    got = dict(Message.objects.values_list("idempotency_key", "due_at"))
    assert got == {"d1": AT, "d2": None} and got["d1"].utcoffset() == timedelta(0)
    latest = Message.objects.aggregate(m=Max("due_at"))["m"]
    assert latest == AT and latest.tzinfo is not None
    assert Message.objects.get(idempotency_key="d1").created_at == AT


def test_insert_returning_names_the_new_rows_and_skips_conflicts(customer, monkeypatch):
    import console.db
    from console.db import values_insert_returning

    monkeypatch.setattr(console.db, "SQLITE_VALUES", 16)  # SQLite: two rows per statement

    fields = ["workspace", "customer", "name", "properties", "occurred_at", "received_at",
              "source", "idempotency_key"]  # fmt: skip
    ws = customer.workspace_id

    def row(key):
        return [ws, customer.pk, "order.placed", {"k": key}, AT, AT, "api", key]

    first = dict(values_insert_returning(Event, fields, [row("a"), row("b"), row("d")],
                                         ["idempotency_key", "id"]))  # fmt: skip
    again = dict(values_insert_returning(Event, fields, [row("b"), row("c"), row("a")],
                                         ["idempotency_key", "id"]))  # fmt: skip
    stored = dict(Event.objects.values_list("idempotency_key", "id"))
    assert first == {k: stored[k] for k in "abd"} and again == {"c": stored["c"]}
    assert Event.objects.get(idempotency_key="c").properties == {"k": "c"}


def test_json_values_written_in_batches_read_back_as_json_dumps_would_have_stored_them(customer):
    """The batch writers encode JSON with orjson; what comes back is what ``json.dumps`` would
    have stored: integer keys as strings, big integers (json.dumps's fallback) exact."""
    big = 2**70
    values_insert(Event, ["workspace", "customer", "name", "properties", "occurred_at",
                          "received_at", "source", "idempotency_key"],
                  [[customer.workspace_id, customer.pk, "x.y", {1: "one", "big": big,
                    "nested": [{"s": AWKWARD}, 1.5, True, None]}, AT, AT, "api", "j1"]])  # fmt: skip
    stored = Event.objects.get(idempotency_key="j1").properties
    assert stored == {"1": "one", "big": big, "nested": [{"s": AWKWARD}, 1.5, True, None]}


def test_json_bytes_refuses_what_json_dumps_refuses():
    from console.db import json_bytes

    assert json_bytes({"a": [1, "b"]}) == b'{"a":[1,"b"]}'
    with pytest.raises(TypeError):
        json_bytes({"a": object()})


def test_reserved_keys_are_past_every_key_and_the_next_automatic_key_is_past_them(customer):
    from console.db import ids_reserve

    first = _message(customer, "r0")
    first.save()
    with transaction.atomic():
        rows = [_message(customer, f"r{i}") for i in (1, 2)]
        ids_reserve(Message, rows)
        assert rows[0].pk > first.pk and rows[1].pk == rows[0].pk + 1
        rows_insert(Message, rows, keys=True)
    later = _message(customer, "r3")
    later.save()
    assert later.pk > rows[1].pk
    stored = dict(Message.objects.values_list("idempotency_key", "pk"))
    assert [stored[k] for k in ("r1", "r2")] == [row.pk for row in rows]
