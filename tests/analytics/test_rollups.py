"""The incremental rollup job: exact, idempotent, equal to a from-scratch rebuild."""

import random
from zoneinfo import ZoneInfo

import pytest

from analytics.models import DailyCell, PendingRun, RollupCell, RunFact, Watermark
from analytics.rollups import daily_cells_rebuild, rollups_rebuild, rollups_update
from tests.analytics.factories import (
    consent_make,
    customer_make,
    event_make,
    journey_make,
    message_make,
    run_end,
    run_make,
    status_make,
    step_make,
)

pytestmark = pytest.mark.django_db


def snapshot(workspace) -> dict:
    return {
        (c.journey_id, c.version, c.node_id, c.channel, c.hour, c.metric, c.dim): (
            c.count,
            c.amount,
        )
        for c in RollupCell.objects.filter(workspace=workspace)
        if c.count or c.amount
    }


def daily_snapshot(workspace) -> dict:
    return {
        (c.journey_id, c.version, c.node_id, c.channel, c.day, c.metric, c.dim): (c.count, c.amount)
        for c in DailyCell.objects.filter(workspace=workspace)
        if c.count or c.amount
    }


def hourly_per_day(workspace) -> dict:
    """The hourly cells summed per day of the workspace's zone that each hour starts in."""
    tz = ZoneInfo(workspace.timezone)
    out: dict = {}
    for (j, v, n, ch, hour, m, d), (count, amount) in snapshot(workspace).items():
        key = (j, v, n, ch, hour.astimezone(tz).date(), m, d)
        c, a = out.get(key, (0, 0))
        out[key] = (c + count, a + amount)
    return {k: v for k, v in out.items() if v != (0, 0)}


def cell(workspace, metric, dim="", **filters) -> int:
    return sum(
        RollupCell.objects.filter(
            workspace=workspace, metric=metric, dim=dim, **filters
        ).values_list("count", flat=True)
    )


def test_a_run_is_counted_once_when_the_job_runs_twice_and_moves_as_it_completes(workspace):
    journey = journey_make(workspace)
    customer = customer_make(workspace, 1)
    run = run_make(journey, customer, key="L1")
    step_make(run, "trigger", kind="trigger.event")
    message = message_make(customer, run=run, hours=0.1, cost="0.12")
    status_make(message, "sent", 0.1)
    rollups_update()
    rollups_update()
    assert cell(workspace, "run.enrolled", "treatment") == 1
    assert cell(workspace, "run.open", "treatment") == 1
    assert cell(workspace, "run.digital", "treatment") == 1
    assert cell(workspace, "msg.attempted", channel="whatsapp") == 1

    status_make(message, "read", 2)
    step_make(run, "goal", kind="goal", port="", hours=5)
    run_end(run, "completed", 5, goal=True)
    rollups_update()
    assert cell(workspace, "run.open", "treatment") == 0
    assert cell(workspace, "run.completed", "treatment") == 1
    assert cell(workspace, "msg.read", channel="whatsapp") == 1
    assert cell(workspace, "msg.delivered", "provider:simulator") == 1
    assert RollupCell.objects.get(metric="run.completed").amount == 5 * 3600
    assert RunFact.objects.get(run=run).completed


def test_the_scheduled_sweep_folds_for_its_configured_time(workspace, settings):
    """As django-q2 calls it: folds what is new, keeps polling for ROLLUP_SWEEP_SECONDS."""
    import time

    from analytics.tasks import rollups_sweep_task

    settings.ROLLUP_SWEEP_SECONDS = 0.3
    journey = journey_make(workspace)
    run = run_make(journey, customer_make(workspace, 1), key="L1")
    step_make(run, "trigger", kind="trigger.event")
    started = time.monotonic()
    assert rollups_sweep_task() >= 2  # the run and its step, at least
    assert time.monotonic() - started >= 0.3
    assert cell(workspace, "run.enrolled", "treatment") == 1


def test_an_inbound_call_after_a_whatsapp_marks_the_run_escalated(workspace):
    journey = journey_make(workspace)
    customer = customer_make(workspace, 1)
    run = run_make(journey, customer, key="L1", status="waiting")
    step_make(run, "send")
    message = message_make(customer, run=run, hours=0.1)
    status_make(message, "sent", 0.1)
    rollups_update()
    assert cell(workspace, "run.escalated", "treatment") == 0
    event_make(customer, "inbound.call", 3, channel="voice")
    rollups_update()
    assert cell(workspace, "run.escalated", "treatment") == 1
    assert cell(workspace, "contact.episode", "treatment") == 1
    event_make(customer, "inbound.message", 4, channel="whatsapp", text="where is my loan?")
    rollups_update()
    assert cell(workspace, "contact.repeat", "treatment") == 1
    assert cell(workspace, "contact.cross_channel", "treatment") == 1


def test_the_job_reads_in_chunks_and_keeps_watermarks(workspace):
    journey = journey_make(workspace)
    for n in range(7):
        run_make(journey, customer_make(workspace, n), hours=n)
    assert rollups_update(chunk=3, max_chunks=1) == 3
    assert Watermark.objects.get(source="run").last_id > 0
    rollups_update(chunk=3)
    assert cell(workspace, "run.enrolled", "treatment") == 7


def test_the_default_chunk_is_larger_on_postgresql_than_on_sqlite(workspace, monkeypatch):
    """SQLite's chunk holds the one write lock the engine waits for; PostgreSQL's does not."""
    from django.db import connection

    from analytics import rollups

    monkeypatch.setattr(rollups, "CHUNK_SQLITE", 2)
    monkeypatch.setattr(rollups, "CHUNK_POSTGRESQL", 4)
    journey = journey_make(workspace)
    for n in range(7):
        run_make(journey, customer_make(workspace, n), hours=n)
    read = rollups_update(max_chunks=1)  # runs are the only source with rows
    assert read == (4 if connection.vendor == "postgresql" else 2)
    rollups_update()
    assert cell(workspace, "run.enrolled", "treatment") == 7


def _backlog(workspace, runs: int = 6) -> list:
    """Runs whose rows land in different chunks of every source: each run has a step and a
    message with two statuses, written source by source, so that with a chunk of 3 the runs,
    steps, messages and statuses of one run are read by different chunks."""
    journey = journey_make(workspace)
    made = [
        run_make(journey, customer_make(workspace, n), hours=n, key=f"L{n}") for n in range(runs)
    ]
    for run in made:
        step_make(run, "trigger", kind="trigger.event", hours=0.1)
    messages = [message_make(run.customer, run=run, hours=0.2) for run in reversed(made)]
    for message in messages:
        status_make(message, "sent", 0.3)
    for message in messages:
        status_make(message, "read", 0.4)
    return made


def _refreshes(monkeypatch) -> list[int]:
    """The run ids whose facts are computed, in order, from now on."""
    from analytics import cells

    seen: list[int] = []
    real = cells.run_contrib

    def counting(row, *args, **kwargs):
        seen.append(row.run_id)
        return real(row, *args, **kwargs)

    monkeypatch.setattr(cells, "run_contrib", counting)
    return seen


def test_a_backlog_refreshes_each_run_once_after_reading_it_all(workspace, monkeypatch):
    """Chunk by chunk, a run's step, message and statuses arrive in different chunks; each used
    to refresh the run again. Deferred, each run is refreshed once, and the cells are those of
    a rebuild."""
    made = _backlog(workspace)
    seen = _refreshes(monkeypatch)
    rollups_update(chunk=3)
    assert sorted(seen) == sorted(run.pk for run in made)
    assert not PendingRun.objects.exists()
    assert cell(workspace, "run.enrolled", "treatment") == 6
    assert cell(workspace, "msg.read", channel="whatsapp") == 6
    incremental = snapshot(workspace)
    rollups_rebuild(workspace)
    assert snapshot(workspace) == incremental


def test_a_small_increment_is_refreshed_at_once_without_deferring(workspace, monkeypatch):
    made = _backlog(workspace, runs=2)
    seen = _refreshes(monkeypatch)
    monkeypatch.setattr("analytics.rollups.pending_flush", lambda size=None: 0)
    rollups_update()  # every source fits in one chunk: nothing is deferred
    assert sorted(seen) == sorted(run.pk for run in made)
    assert not PendingRun.objects.exists()
    assert cell(workspace, "run.enrolled", "treatment") == 2


def test_deferred_runs_survive_a_job_that_dies_before_refreshing_them(workspace, monkeypatch):
    """The deferred runs are stored in the chunk's transaction, with the watermarks: a job that
    dies after reading the backlog leaves them to the next one, which refreshes them."""
    made = _backlog(workspace)
    with monkeypatch.context() as m:
        m.setattr("analytics.rollups.pending_flush", lambda size=None: 0)  # dies first
        rollups_update(chunk=3)
    assert set(PendingRun.objects.values_list("run_id", flat=True)) == {r.pk for r in made}
    assert Watermark.objects.get(source="status").last_id > 0
    assert cell(workspace, "run.enrolled", "treatment") == 0  # not refreshed yet
    assert rollups_update() == 0  # nothing new to read; the pending runs are refreshed
    assert not PendingRun.objects.exists()
    assert cell(workspace, "run.enrolled", "treatment") == 6
    incremental = snapshot(workspace)
    rollups_rebuild(workspace)
    assert snapshot(workspace) == incremental


def test_a_long_backlog_refreshes_its_runs_every_defer_seconds(workspace, settings, monkeypatch):
    """Under a backlog that lasts, run figures trail by at most ROLLUP_DEFER_SECONDS: with 0,
    the deferred runs are refreshed after every chunk instead of once at the end."""
    from analytics import rollups

    _backlog(workspace)
    flushes: list[int] = []
    real = rollups.pending_flush

    def recording(size=None):
        flushes.append(real(size))
        return flushes[-1]

    monkeypatch.setattr(rollups, "pending_flush", recording)
    rollups_update(chunk=3)
    assert [n for n in flushes if n] == [6]  # once, at the end
    Watermark.objects.all().delete()
    RunFact.objects.all().delete()
    flushes.clear()
    settings.ROLLUP_DEFER_SECONDS = 0
    rollups_update(chunk=3)
    assert len([n for n in flushes if n]) > 1  # during the backlog too
    assert not PendingRun.objects.exists()


def test_rollups_of_another_workspace_are_untouched_by_a_rebuild(workspace, other_workspace):
    for ws in (workspace, other_workspace):
        run_make(journey_make(ws), customer_make(ws, 1 if ws == workspace else 2))
    rollups_update()
    rollups_rebuild(workspace)
    assert cell(other_workspace, "run.enrolled", "treatment") == 1
    assert cell(workspace, "run.enrolled", "treatment") == 1


NODES = ["trigger", "wa", "wait", "sms", "voice", "goal"]
CONTACTS = [
    ("inbound.call", {"channel": "voice"}),
    ("inbound.message", {"channel": "whatsapp", "text": "help"}),
    ("inbound.message", {"channel": "sms", "text": "STOP", "keyword": "withdraw"}),
    ("message.clicked", {"channel": "whatsapp", "button_title": "Speak to an Advisor"}),
    ("message.clicked", {"channel": "whatsapp", "button_title": "Track Application"}),
    ("agent.requested", {"channel": "voice"}),
    ("payment.received", {}),
]


def _workload(workspace, rng: random.Random, steps: int) -> None:
    journeys = [journey_make(workspace, f"J{i}", versions=(1, 2)) for i in range(2)]
    customers = [customer_make(workspace, n) for n in range(12)]
    runs, messages, clock = [], [], 0.0
    for _ in range(steps):
        clock += rng.random() * 3
        action = rng.random()
        customer = rng.choice(customers)
        if action < 0.15 or not runs:
            journey = rng.choice(journeys)
            run = run_make(
                journey, customer, version=rng.choice((1, 2)), hours=clock,
                holdout=rng.random() < 0.2, status="waiting", key=f"L{rng.randint(1, 4)}",
            )  # fmt: skip
            step_make(run, "trigger", kind="trigger.event", hours=clock)
            if rng.random() < 0.3:
                step_make(run, "ab", kind="split", port=rng.choice("AB"), hours=clock)
            runs.append(run)
        elif action < 0.35:
            run = rng.choice(runs)
            node = rng.choice(NODES[1:5])
            step_make(run, node, hours=clock)
            if not run.holdout:
                channel = {"wa": "whatsapp", "sms": "sms", "voice": "voice"}.get(node, "sms")
                status = "blocked" if rng.random() < 0.1 else "queued"
                messages.append(message_make(
                    run.customer, run=run, node=node, channel=channel, status=status,
                    hours=clock, reason="quiet_hours" if status == "blocked" else "",
                ))  # fmt: skip
        elif action < 0.55 and messages:
            message = rng.choice(messages)
            if message.status != "blocked":
                status = rng.choice(["sent", "delivered", "read", "replied", "failed"])
                status_make(message, status, clock, cost=rng.choice([None, "0.1100", "0.7800"]))
        elif action < 0.75:
            name, props = rng.choice(CONTACTS)
            props = dict(props)
            if rng.random() < 0.3 and runs:
                props["run_id"] = rng.choice(runs).pk
            event_make(customer, name, clock, **props)
        elif action < 0.85:
            run = rng.choice(runs)
            if run.status == "waiting":
                step_make(run, "goal", kind="goal", port="", hours=clock)
                run_end(run, rng.choice(["completed", "exited", "failed"]), clock,
                        goal=rng.random() < 0.5)  # fmt: skip
        elif action < 0.9:
            consent_make(
                customer,
                rng.choice(["sms", "whatsapp"]),
                rng.choice(["withdrawn", "granted"]),
                clock,
            )
        else:
            rollups_update(chunk=rng.randint(1, 20))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_rollups_equal_a_rebuild_from_scratch_after_a_random_workload(workspace, seed):
    _workload(workspace, random.Random(seed), 260)
    rollups_update()
    incremental = snapshot(workspace)
    flags = sorted(RunFact.objects.values_list("run_id", "completed", "digital", "escalated"))
    assert incremental  # the workload produced something to compare
    daily = daily_snapshot(workspace)
    assert daily == hourly_per_day(workspace)
    rollups_rebuild(workspace)
    assert snapshot(workspace) == incremental
    assert daily_snapshot(workspace) == daily
    assert (
        sorted(RunFact.objects.values_list("run_id", "completed", "digital", "escalated")) == flags
    )


def test_daily_cells_follow_the_workspace_time_zone_and_rebuild_after_it_changes(workspace):
    journey = journey_make(workspace)
    # 18:00 UTC is 23:30 in Kolkata (that day); 19:00 UTC is 00:30 the next day there.
    run_make(journey, customer_make(workspace, 1), hours=9)  # T0 09:00 UTC + 9 h = 18:00 UTC
    run_make(journey, customer_make(workspace, 2), hours=10)
    rollups_update()
    days = {
        c.day.isoformat(): c.count
        for c in DailyCell.objects.filter(workspace=workspace, metric="run.enrolled")
    }
    assert days == {"2026-03-02": 1, "2026-03-03": 1}
    workspace.timezone = "UTC"
    workspace.save()
    daily_cells_rebuild(workspace)
    days = {
        c.day.isoformat(): c.count
        for c in DailyCell.objects.filter(workspace=workspace, metric="run.enrolled")
    }
    assert days == {"2026-03-02": 2}
    assert daily_snapshot(workspace) == hourly_per_day(workspace)
