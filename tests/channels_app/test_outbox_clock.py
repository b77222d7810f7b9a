"""Messages queued by a journey on an accelerated clock fall due in that journey's time."""

from datetime import timedelta

from django.utils import timezone

from channels_app.models.outbox import Message
from channels_app.outbox.claims import messages_claim_due
from console.models import Customer
from journeys.clock import clock_frozen, clock_speed_set


def pending(workspace, customer, key, due_at):
    return Message.objects.create(
        workspace=workspace,
        customer=customer,
        channel="sms",
        purpose="transactional",
        idempotency_key=key,
        status="queued",
        due_at=due_at,
    )


def test_accelerated_workspace_messages_are_due_by_journey_time_others_by_wall_time(
    workspace, other_workspace
):
    start = timezone.now()
    ours = Customer.objects.create(workspace=workspace, external_id="A", phone="+919812345678")
    theirs = Customer.objects.create(
        workspace=other_workspace, external_id="B", phone="+919812345679"
    )
    with clock_frozen(start) as clock:
        clock_speed_set(workspace=workspace, factor=600)  # 1 real second = 10 journey minutes
        in_journey_time = pending(workspace, ours, "a", start + timedelta(minutes=15))
        in_wall_time = pending(other_workspace, theirs, "b", start + timedelta(minutes=15))
        later = start + timedelta(seconds=2)  # 20 journey minutes later, 2 real seconds
        clock.now = later
        claimed = messages_claim_due(worker="w1", limit=10, now=later)
    assert claimed == [in_journey_time.pk]
    assert Message.objects.get(pk=in_wall_time.pk).claimed_by is None


def test_claims_repeat_the_partial_indexes_condition_so_sqlite_can_use_them(workspace):
    """The claim indexes hold only pending / in-flight rows. SQLite uses such an index only when
    the query states its condition with the same literal values: a claim that bound the statuses
    as parameters scanned the whole outbox (100,000 customers made dispatch the slowest phase)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from channels_app.outbox.claims import messages_claim_stale

    now = timezone.now()
    with CaptureQueriesContext(connection) as ctx:
        messages_claim_due(worker="w1", limit=10, now=now)
        messages_claim_stale(worker="w1", limit=10, now=now)
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    claims = [sql for sql in selects if "ORDER BY" in sql and "channels_app_message" in sql]
    assert len(claims) == 2
    assert "status IN ('queued', 'deferred')" in claims[0]
    assert "status IN ('sending', 'unknown')" in claims[1]
    if connection.vendor == "sqlite":
        plans = []
        for sql in claims:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
        assert "message_due_claim" in plans[0]
        assert "message_in_flight" in plans[1]


def test_a_runs_messages_are_read_through_the_run_index(workspace):
    """The engine reads its batch's stored message keys by run, and the rollup job a run's
    messages: without the index both scanned the whole outbox."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analytics.loaders import messages_load
    from channels_app.outbox.services import messages_batch

    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Message._meta.db_table)
    assert found["message_run"]["columns"] == ["run_id"] and found["message_run"]["index"]
    with CaptureQueriesContext(connection) as ctx:
        with messages_batch(run_ids=[11, 12]):
            pass
        messages_load(run_ids=[11, 12])
    # SQLite: "run_id" IN (...); PostgreSQL: "run_id" = ANY(...) (console.lookups)
    by_run = [
        q["sql"]
        for q in ctx.captured_queries
        if '"run_id" IN' in q["sql"] or '"run_id" = ANY' in q["sql"]
    ]
    assert len(by_run) == 2
    if connection.vendor == "sqlite":
        for sql in by_run:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                assert "message_run" in " ".join(str(row[-1]) for row in cursor.fetchall())
