"""The batch services keep PostgreSQL's planner statistics up with their own bulk writes: a hot
table that changed by as many rows as it held at its last analyze is analyzed again, once, by one
worker; SQLite (which plans without statistics) and open transactions are left alone."""

from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from console import dbstats
from console.db import values_insert
from console.models import Customer, Event

pytestmark = pytest.mark.django_db(transaction=True)
AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _events(workspace, customer, n: int, start: int = 0) -> None:
    rows = [
        [workspace.pk, customer.pk, "order.placed", {}, AT, AT, "api", f"stats:{i}"]
        for i in range(start, start + n)
    ]
    fields = ["workspace", "customer", "name", "properties", "occurred_at", "received_at",
              "source", "idempotency_key"]  # fmt: skip
    with transaction.atomic():
        values_insert(Event, fields, rows)


def _flush_counts() -> None:
    """PostgreSQL publishes a backend's row counts at most once a second; tests ask now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")


def _last_analyzed(table: str):
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.fixture
def people(workspace):
    customer = Customer.objects.create(workspace=workspace, external_id="C1", phone="+919800000001")
    return workspace, customer


def test_a_grown_table_is_analyzed_once_then_left_until_it_doubles(people):
    workspace, customer = people
    _events(workspace, customer, dbstats.MIN_ROWS + 200)
    if connection.vendor != "postgresql":
        assert dbstats.statistics_keep_up(force=True) == []  # SQLite: nothing to do
        return
    _flush_counts()
    assert "console_event" in dbstats.stale_tables()
    assert "console_event" in dbstats.statistics_keep_up(force=True)
    assert _last_analyzed("console_event") is not None
    _flush_counts()
    assert "console_event" not in dbstats.stale_tables()
    # Fewer new rows than the table held at its analyze: still fresh enough.
    _events(workspace, customer, 500, start=10_000)
    _flush_counts()
    assert "console_event" not in dbstats.statistics_keep_up(force=True)
    # As many again as it held: analyzed again.
    _events(workspace, customer, dbstats.MIN_ROWS + 200, start=20_000)
    _flush_counts()
    assert "console_event" in dbstats.statistics_keep_up(force=True)


def test_nothing_inside_a_transaction_or_twice_within_the_interval(people):
    workspace, customer = people
    _events(workspace, customer, dbstats.MIN_ROWS + 200)
    if connection.vendor == "postgresql":
        _flush_counts()
    with transaction.atomic():  # an ANALYZE here would hold its lock to the caller's commit
        assert dbstats.statistics_keep_up(force=True) == []
    dbstats.statistics_keep_up(force=True)
    _events(workspace, customer, 3 * dbstats.MIN_ROWS, start=50_000)
    if connection.vendor == "postgresql":
        _flush_counts()
    assert dbstats.statistics_keep_up() == []  # checked a moment ago: not again yet
    expected = ["console_event"] if connection.vendor == "postgresql" else []
    assert [t for t in dbstats.statistics_keep_up(force=True) if t == "console_event"] == expected


def test_another_worker_analyzing_is_not_waited_for(people):
    if connection.vendor != "postgresql":
        assert dbstats.statistics_keep_up(force=True) == []
        return
    workspace, customer = people
    _events(workspace, customer, dbstats.MIN_ROWS + 200)
    _flush_counts()
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [dbstats.LOCK_KEY])
            with connection.cursor() as ours:  # a waiting lock fails here instead of hanging
                ours.execute("SET lock_timeout = '2s'")
            assert dbstats.statistics_keep_up(force=True) == []  # the other holds the lock
            cursor.execute("COMMIT")
    finally:
        other.close()
        with connection.cursor() as ours:
            ours.execute("RESET lock_timeout")
    assert "console_event" in dbstats.statistics_keep_up(force=True)


def test_the_migration_operation_sets_the_target_on_postgresql_only():
    operation = dbstats.no_statistics("console_event", "properties", "source")
    statements = {}
    for name, code in (("forwards", operation.code), ("backwards", operation.reverse_code)):
        with connection.schema_editor(collect_sql=True) as editor:
            code(None, editor)
        statements[name] = [sql.strip().rstrip(";") for sql in editor.collected_sql]
    if connection.vendor != "postgresql":
        assert statements == {"forwards": [], "backwards": []}
        return
    alter = (
        'ALTER TABLE "console_event" ALTER COLUMN "properties" SET STATISTICS {0}, '
        'ALTER COLUMN "source" SET STATISTICS {0}'
    )
    assert statements == {"forwards": [alter.format(0)], "backwards": [alter.format(-1)]}


def test_analyze_leaves_out_the_payload_columns():
    """The migrations set statistics target 0 on payload columns (PostgreSQL); the columns the
    engine's queries filter or join on keep the default."""
    if connection.vendor != "postgresql":
        return  # SQLite keeps no per-column statistics targets (the test above covers it)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attname, attstattarget FROM pg_attribute "
            "WHERE attrelid::regclass::text = ANY(%s) AND attnum > 0 AND NOT attisdropped",
            [list(dbstats.HOT_TABLES)],
        )
        targets = {(table, column): target for table, column, target in cursor.fetchall()}
    off = [
        ("journeys_run", "state"),
        ("journeys_step", "notes"),
        ("journeys_runinput", "payload"),
        ("channels_app_message", "spec"),
        ("channels_app_message", "rendered_text"),
        ("channels_app_messagestatuschange", "raw"),
        ("channels_app_simulatedoutcome", "event"),
        ("console_event", "properties"),
    ]
    assert [targets[key] for key in off] == [0] * len(off)
    kept = [("journeys_run", "customer_id"), ("journeys_run", "due_at"),
            ("channels_app_message", "status"), ("console_event", "customer_id")]  # fmt: skip
    assert all(targets[key] != 0 for key in kept)
