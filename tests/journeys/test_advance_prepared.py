"""The due-run sweep and event routing prepared outside the write lock (SQLite): a batch is
claimed and advanced with reads only and written in one short transaction that first checks
every run still holds what the batch read. When something moved a run meanwhile, that batch is
done again inside the lock, so the result is the one the usual path gives. On PostgreSQL the
same calls take the usual path (claims are row locks), and must give the same stored result."""

import pytest
from django.db import connection

from journeys.models import Run, RunInput, Step
from journeys.services import journey_create, journey_publish, runs_advance_due
from journeys.services import stepping as stepping_module
from journeys.services.enrolment import events_process
from tests.conftest import elsewhere
from tests.journeys.conftest import send_event
from tests.journeys.test_engine_db import go, waits

pytestmark = pytest.mark.django_db(transaction=True)
SQLITE = connection.vendor == "sqlite"


@pytest.fixture
def three_waiting(workspace, make_customer, clock, engine_sync):
    """Three runs of the waits journey, each in its 1 h wait."""
    journey = journey_create(workspace=workspace, name="Waits", graph=waits())
    journey_publish(journey=journey, note="v1")
    customers = [make_customer() for _ in range(3)]
    for n, customer in enumerate(customers):
        go(customer, ref=f"R{n}")
    assert set(Run.objects.values_list("node_id", flat=True)) == {"pause1"}
    return journey, customers


@pytest.fixture
def prepared(monkeypatch):
    """Counts the sweep batches prepared outside the lock; ``interfere`` runs after each
    preparation (another writer acting before the batch is written)."""
    calls = {"prepared": 0, "interfere": None}
    real = stepping_module.batch_prepare

    def spy(runs, given=None):
        batch = real(runs, given)
        calls["prepared"] += 1
        if calls["interfere"]:
            calls["interfere"]()
        return batch

    monkeypatch.setattr(stepping_module, "batch_prepare", spy)
    return calls


def _path(run):
    return list(run.steps.order_by("left_at", "id").values_list("node_id", flat=True))


def test_a_sweep_batch_prepared_outside_the_lock_advances_every_due_run_once(
    three_waiting, prepared, clock
):
    clock.advance(hours=1, minutes=1)
    assert not connection.in_atomic_block
    assert runs_advance_due() == 3
    assert runs_advance_due() == 0
    for run in Run.objects.all():
        assert (run.status, run.node_id) == ("waiting", "wait_done")
        assert _path(run) == ["trigger", "pause1", "mark"]
        assert run.state["context"]["marked"] is True
    assert prepared["prepared"] == (1 if SQLITE else 0)


def test_a_run_an_event_moved_while_the_batch_was_prepared_is_advanced_once_inside_the_lock(
    three_waiting, prepared, clock
):
    journey, customers = three_waiting
    clock.advance(hours=1, minutes=1)
    paid = Run.objects.get(customer=customers[0])
    # The goal event completes run 0 after the sweep read it and before its batch is written
    # (on another connection, as another worker's would).
    prepared["interfere"] = lambda: elsewhere(send_event, customers[0], "paid", ref="R0")
    assert runs_advance_due() == (2 if SQLITE else 3)
    paid.refresh_from_db()
    if SQLITE:  # the event moved run 0 through its due timer to the goal; the stale batch
        # was dropped (writing it would have put run 0 back in its wait) and redone
        assert paid.status == "completed"
        assert _path(paid) == ["trigger", "pause1", "mark", "wait_done"]
    for run in Run.objects.exclude(pk=paid.pk):
        assert (run.status, run.node_id) == ("waiting", "wait_done")
        assert _path(run) == ["trigger", "pause1", "mark"]
    assert Step.objects.filter(node_id="mark").count() == 3
    assert prepared["prepared"] == (1 if SQLITE else 0)
    assert not RunInput.objects.exists()


def test_events_that_move_runs_are_routed_and_advanced_outside_the_lock(
    three_waiting, prepared, clock, monkeypatch
):
    from console.models import Event

    journey, customers = three_waiting
    clock.advance(hours=1, minutes=1)
    runs_advance_due()  # every run now waits for "done"
    monkeypatch.setattr("console.services._after_commit", lambda callback: None)
    for n, customer in enumerate(customers):
        send_event(customer, "done", ref=f"R{n}")  # stored; routed below
    ids = list(Event.objects.filter(name="done").values_list("id", flat=True))
    assert not connection.in_atomic_block
    assert events_process(event_ids=ids) == 3
    for run in Run.objects.all():
        assert run.status == "exited" and _path(run)[-2:] == ["wait_done", "end"]
    assert events_process(event_ids=ids) == 0  # a replay moves nothing
    assert Step.objects.filter(node_id="end").count() == 3
