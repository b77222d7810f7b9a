"""The engine with the database: batching, pause/resume/stop, version moves, entry rules, goals,
stuck runs, the clock, the API and the console screens."""

import re
from datetime import timedelta

import pytest

from journeys.clock import clock_now, clock_speed_set, real_now
from journeys.models import Journey, NodeCounter, Run, RunInput
from journeys.selectors import node_counters, stuck_runs
from journeys.services import (
    JourneyInvalid,
    JourneyStateError,
    journey_create,
    journey_pause,
    journey_publish,
    journey_resume,
    journey_stop,
    runs_advance_due,
    runs_move_preview,
)
from journeys.tasks import runs_due_sweep
from tests.journeys.conftest import send_event

pytestmark = pytest.mark.django_db


def waits(reentry="always", one_active=True, goal=True, holdout=0, hours=1):
    """go -> wait <hours> -> mark (context) -> wait_for done (2h) -> end."""
    return {
        "format": 1,
        "goal": {"event": "paid", "then": "complete"} if goal else None,
        "exit_conditions": [{"event": "cancelled", "reason": "cancelled"}],
        "entry": {"reentry": reentry, "cooldown_hours": 5, "one_active_per_key": one_active,
                  "correlation_key": "ref"},
        "holdout_percent": holdout,
        "nodes": [
            {"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}},
            {"id": "pause1", "kind": "wait", "config": {"mode": "duration", "hours": hours}},
            {"id": "mark", "kind": "update",
             "config": {"target": "context", "name": "marked", "value": True}},
            {"id": "wait_done", "kind": "wait_for", "config": {"event": "done", "hours": 2}},
            {"id": "end", "kind": "exit", "config": {"reason": "finished"}},
        ],
        "edges": [
            {"from": "trigger", "port": "out", "to": "pause1"},
            {"from": "pause1", "port": "out", "to": "mark"},
            {"from": "mark", "port": "out", "to": "wait_done"},
            {"from": "wait_done", "port": "matched", "to": "end"},
            {"from": "wait_done", "port": "timeout", "to": "end"},
        ],
    }  # fmt: skip


@pytest.fixture
def live(workspace, clock, engine_sync):
    def make(**kwargs):
        journey = journey_create(workspace=workspace, name="Waits", graph=waits(**kwargs))
        journey_publish(journey=journey, note="v1")
        journey.refresh_from_db()
        return journey

    return make


def go(customer, ref="R1"):
    return send_event(customer, "go", ref=ref)


def test_event_enrols_and_the_run_waits_with_an_indexed_wake_up(live, make_customer, clock):
    journey = live()
    customer = make_customer()
    go(customer)
    run = Run.objects.get(journey=journey, customer=customer)
    assert (run.status, run.node_id) == ("waiting", "pause1")
    assert run.wake_at == clock.now + timedelta(hours=1) == run.due_at
    assert run.correlation_value == "R1" and run.active_key == "R1"


def test_one_claim_advances_many_runs_with_a_bounded_number_of_queries(
    live, make_customer, clock, django_assert_max_num_queries
):
    journey = live()
    customers = [make_customer(consent=()) for _ in range(40)]
    for customer in customers:
        go(customer)
    clock.advance(hours=1, minutes=1)
    with django_assert_max_num_queries(25):
        assert runs_advance_due(limit=100) == 40
    assert set(Run.objects.filter(journey=journey).values_list("node_id", flat=True)) == {
        "wait_done"
    }
    counts = node_counters(journey=journey)
    assert counts["mark"]["entered"] == 40 and counts["pause1"]["ports"] == {"out": 40}
    assert counts["wait_done"]["here"] == 40


def test_the_sweep_claims_nothing_before_its_time(live, make_customer, clock):
    live()
    go(make_customer())
    clock.advance(minutes=59)
    assert runs_due_sweep(seconds=0) == 0


def test_the_scheduled_sweep_advances_what_is_due_then_waits_out_its_time(
    live, make_customer, clock, settings
):
    """As django-q2 calls it (no arguments): it idles when nothing is due until SWEEP_SECONDS
    pass, instead of failing at the first idle moment."""
    from journeys.tasks import runs_due_sweep_task

    settings.SWEEP_SECONDS = 0.6
    journey = live()
    go(make_customer())
    clock.advance(hours=1, minutes=5)
    assert runs_due_sweep_task() == 1
    assert runs_due_sweep_task() == 0  # nothing due: idles, then ends
    assert Run.objects.get(journey=journey).node_id != "pause1"


def test_pause_holds_runs_and_queues_inputs_then_resume_lets_them_go_on_in_order(
    live, make_customer, clock
):
    journey = live()
    customer = make_customer()
    go(customer)
    journey_pause(journey=journey)
    clock.advance(hours=1, minutes=5)
    assert runs_due_sweep(seconds=0) == 0
    send_event(customer, "paid", ref="R1")
    run = Run.objects.get(journey=journey)
    assert run.status == "waiting" and RunInput.objects.filter(run=run).count() == 1
    journey_resume(journey=journey)
    runs_due_sweep(seconds=0)
    run.refresh_from_db()
    # The timer came due first (it was earlier than the payment), then the goal completed the run.
    assert run.status == "completed"
    assert list(run.steps.order_by("id").values_list("node_id", "port")) == [
        ("trigger", "out"),
        ("pause1", "out"),
        ("mark", "out"),
        ("wait_done", ""),
    ]


def test_stop_ends_every_open_run_with_the_reason(live, make_customer):
    journey = live()
    for _ in range(3):
        go(make_customer())
    assert journey_stop(journey=journey, reason="campaign withdrawn") == 3
    runs = Run.objects.filter(journey=journey)
    assert {r.status for r in runs} == {"exited"}
    assert {r.steps.last().reason for r in runs} == {"stopped: campaign withdrawn"}
    assert {r.active_key for r in runs} == {None}
    with pytest.raises(JourneyStateError):
        journey_resume(journey=Journey.objects.get(pk=journey.pk))


def test_a_new_version_takes_new_entries_while_running_ones_stay(live, make_customer, clock):
    journey = live()
    old = make_customer()
    go(old)
    journey.draft = waits(hours=3)
    journey.save()
    journey_publish(journey=journey, note="longer wait")
    new = make_customer()
    go(new)
    assert Run.objects.get(customer=old).version.number == 1
    assert Run.objects.get(customer=new).version.number == 2
    assert Run.objects.get(customer=new).wake_at == clock.now + timedelta(hours=3)


def test_runs_move_to_the_new_version_by_an_explicit_mapping_with_counts_first(live, make_customer):
    journey = live()
    for _ in range(2):
        go(make_customer())
    assert runs_move_preview(journey=journey, mapping={"pause1": "pause1"}) == {"pause1": 2}
    journey.draft = waits(hours=3)
    journey.save()
    version = journey_publish(journey=journey, mapping={"pause1": "pause1"})
    assert set(Run.objects.filter(journey=journey).values_list("version", flat=True)) == {
        version.pk
    }


def test_one_active_run_per_customer_and_key_and_re_entry_rules(live, make_customer, clock):
    journey = live(reentry="cooldown")
    customer = make_customer()
    go(customer, "R1")
    go(customer, "R1")
    assert Run.objects.filter(journey=journey).count() == 1
    send_event(customer, "cancelled", ref="R1")
    go(customer, "R1")  # within the 5h cool-down
    assert Run.objects.filter(journey=journey).count() == 1
    clock.advance(hours=5, minutes=1)
    go(customer, "R1")
    assert Run.objects.filter(journey=journey).count() == 2


def test_never_re_entry_refuses_a_second_run_even_for_another_key(live, make_customer):
    journey = live(reentry="never")
    customer = make_customer()
    go(customer, "R1")
    go(customer, "R2")
    assert Run.objects.filter(journey=journey).count() == 1


def test_the_goal_completes_the_run_wherever_it_is(live, make_customer):
    journey = live()
    customer = make_customer()
    go(customer)
    send_event(customer, "paid", ref="R1")
    run = Run.objects.get(journey=journey)
    assert run.status == "completed" and run.node_id == "pause1"
    assert NodeCounter.objects.get(journey=journey, node_id="", metric="ended:completed").count == 1
    assert not RunInput.objects.exists()  # an input the run takes at once is never stored


def test_an_event_whose_advance_fails_leaves_its_input_queued_and_the_sweep_takes_it(
    live, make_customer, monkeypatch
):
    """Inputs that move a run now are handed to the advance, not stored: if the advance raises,
    they are stored after all and the run made due, so nothing is lost."""
    from journeys.services import stepping

    journey = live()
    customer = make_customer()
    go(customer)
    steps = Run.objects.get(journey=journey).steps.count()
    real_advance = stepping.run_advance
    monkeypatch.setattr(stepping, "run_advance", lambda *a, **k: 1 / 0)
    send_event(customer, "paid", ref="R1")
    run = Run.objects.get(journey=journey)
    assert run.status == "waiting" and run.steps.count() == steps
    queued = RunInput.objects.get(run=run)
    assert queued.kind == "event" and queued.payload["name"] == "paid"
    assert run.due_at == queued.at
    monkeypatch.setattr(stepping, "run_advance", real_advance)
    assert runs_advance_due() == 1
    run.refresh_from_db()
    assert run.status == "completed" and not RunInput.objects.filter(run=run).exists()


def test_a_handed_input_already_queued_under_its_source_key_is_taken_once_in_time_order(
    live, make_customer, clock
):
    from journeys.services.stepping import InputRow, _inputs_for

    journey = live()
    go(make_customer())
    run = Run.objects.get(journey=journey)
    paid = {"name": "paid", "properties": {"ref": "R1"}}
    done = {"name": "done", "properties": {}}
    later = clock.now + timedelta(minutes=5)
    RunInput.objects.create(run=run, kind="event", source_key="event:9", at=later, payload=paid)
    given = {run.pk: [InputRow(run.pk, "event", "event:9", later, paid),
                      InputRow(run.pk, "event", "event:10", clock.now, done)]}  # fmt: skip
    inputs = _inputs_for([run.pk], given)[run.pk]
    assert [(i.name, i.at) for i in inputs] == [("done", clock.now), ("paid", later)]


def test_holdout_runs_are_counted_apart(live, make_customer):
    journey = live(holdout=50)
    for _ in range(12):
        go(make_customer())
    held = Run.objects.filter(journey=journey, holdout=True).count()
    counters = dict(
        NodeCounter.objects.filter(journey=journey, node_id="").values_list("metric", "count")
    )
    assert counters.get("holdout:enrolled", 0) == held and counters.get("enrolled", 0) == 12 - held


def test_publishing_refuses_a_draft_with_problems_naming_the_node(workspace, clock):
    graph = waits()
    graph["nodes"].append(
        {"id": "sms", "kind": "send", "config": {"channel": "sms", "template": "nope"}}
    )
    graph["edges"][-1] = {"from": "wait_done", "port": "timeout", "to": "sms"}
    journey = journey_create(workspace=workspace, name="Bad", graph=graph)
    with pytest.raises(JourneyInvalid) as caught:
        journey_publish(journey=journey)
    assert "graph.nodes.sms.template" in caught.value.fields()
    assert journey.versions.count() == 0


def test_stuck_runs_are_reported_with_the_reason(live, make_customer, clock):
    journey = live()
    go(make_customer())
    clock.advance(hours=2)
    ((run, reason),) = stuck_runs(journey=journey, now=clock.now)
    assert "due 60 min ago at pause1" in reason


def test_an_accelerated_workspace_runs_on_journey_time(workspace, clock):
    clock_speed_set(workspace=workspace, factor=600)
    start = clock_now(workspace)
    clock.advance(seconds=6)
    assert clock_now(workspace) - start == timedelta(hours=1)
    clock_speed_set(workspace=workspace, factor=1)
    assert clock_now(workspace) == start + timedelta(hours=1)
    assert real_now() == clock.now


def test_runs_that_need_their_customer_are_read_whole_the_others_are_not(
    live, workspace, make_customer, clock
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    live()
    graph = waits(goal=False)
    graph["nodes"][2] = {
        "id": "mark",
        "kind": "branch",
        "config": {
            "arms": [
                {"port": "gold", "when": {"path": "attributes.tier", "op": "eq", "value": "gold"}}
            ],
            "otherwise": "other",
        },
    }
    graph["edges"][1:3] = [{"from": "pause1", "port": "out", "to": "mark"},
                           {"from": "mark", "port": "gold", "to": "wait_done"},
                           {"from": "mark", "port": "other", "to": "end"}]  # fmt: skip
    graph["nodes"][0]["config"]["event"] = "tiered"
    journey_publish(journey=journey_create(workspace=workspace, name="Tiers", graph=graph),
                    note="v1")  # fmt: skip
    plain = [make_customer(consent=()) for _ in range(3)]
    gold, silver = make_customer(consent=(), tier="gold"), make_customer(consent=(), tier="silver")
    for customer in plain:
        go(customer)
    for customer in (gold, silver):
        send_event(customer, "tiered", ref="T")
    clock.advance(hours=1, minutes=1)
    with CaptureQueriesContext(connection) as queries:
        assert runs_advance_due(limit=100) == 5
    whole = [q["sql"] for q in queries if '"attributes"' in q["sql"] and "customer" in q["sql"]]
    assert len(whole) == 1, whole
    # SQLite: IN (4, 5); PostgreSQL: = ANY('{4,5}'::int2[])
    (ids,) = re.findall(r"(?:IN \(|ANY\('\{)([^)}]*)", whole[0])
    assert {int(i) for i in ids.split(",")} == {gold.pk, silver.pk}
    nodes = dict(Run.objects.values_list("customer_id", "node_id"))
    assert {nodes[c.pk] for c in plain} == {"wait_done"}
    assert (nodes[gold.pk], nodes[silver.pk]) == ("wait_done", "end")
