"""run_advance and entry rules: goals, exits, loops, timers, ended runs, stops. No database."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from journeys.engine import (
    MAX_STEPS_PER_ADVANCE,
    EventInput,
    PriorRun,
    RunState,
    Schedule,
    SendRequest,
    SendVerdict,
    TimerTick,
    entry_decide,
    journey_parse,
    run_advance,
    run_start,
    run_stop,
    send_suppressed,
)
from journeys.engine.simulate import Simulation, journey_around

IST = ZoneInfo("Asia/Kolkata")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=IST)
WAIT_DAY = {"mode": "duration", "hours": 24}


def waiting_sim(**fields):
    sim = Simulation(
        journey_around("wait", WAIT_DAY, correlation_key="loan_id", **fields), run_id="r", now=T0
    )
    sim.start(EventInput("go", T0, {"loan_id": "L1"}))
    return sim


def test_the_goal_event_completes_the_run_wherever_it_is():
    sim = waiting_sim(goal={"event": "paid"})
    sim.event("paid", loan_id="L1")
    assert (sim.state.status, sim.state.end_reason) == ("completed", "goal: paid")
    assert sim.steps[-1].node_id == "n" and sim.steps[-1].port is None


def test_a_goal_for_another_matter_is_ignored_and_a_customer_level_one_needs_no_key():
    sim = waiting_sim(goal={"event": "paid"})
    sim.event("paid", loan_id="L2")
    sim.event("paid")
    assert sim.state.status == "waiting"
    loose = waiting_sim(goal={"event": "paid", "match_correlation": False})
    loose.event("paid")
    assert loose.state.status == "completed"


def test_a_goal_that_continues_marks_success_and_the_end_counts_as_completed():
    sim = waiting_sim(goal={"event": "paid", "then": "continue"})
    sim.event("paid", loan_id="L1")
    assert sim.state.status == "waiting" and sim.state.goal_reached_at == T0
    sim.advance_by(timedelta(hours=24))
    (step,) = [s for s in sim.steps if s.node_id == "n"]
    assert step.notes == ("goal: paid (run continues)",)
    assert sim.state.status == "completed"


def test_an_exit_condition_exits_the_run():
    sim = waiting_sim(exit_conditions=[{"event": "cancelled", "reason": "order cancelled"}])
    sim.event("cancelled", loan_id="L1")
    assert (sim.state.status, sim.state.end_reason) == ("exited", "exit: order cancelled")


def test_an_exit_condition_can_filter_on_the_event():
    rule = {"event": "cancelled", "when": {"path": "event.by", "op": "eq", "value": "customer"}}
    sim = waiting_sim(exit_conditions=[rule])
    sim.event("cancelled", loan_id="L1", by="seller")
    assert sim.state.status == "waiting"
    sim.event("cancelled", loan_id="L1", by="customer")
    assert sim.state.status == "exited"


def test_an_ended_run_ignores_everything():
    sim = waiting_sim(goal={"event": "paid"})
    sim.event("paid", loan_id="L1")
    count = len(sim.steps)
    advance = sim.advance_by(timedelta(days=3))
    assert advance.steps == [] and advance.effects == []
    assert len(sim.steps) == count


def test_a_new_wake_up_is_announced_once_as_a_schedule_effect():
    sim = Simulation(journey_around("wait", WAIT_DAY), run_id="r", now=T0)
    first = sim.start(EventInput("go", T0))
    assert Schedule("r", T0 + timedelta(hours=24)) in first.effects
    quiet = sim.advance_by(timedelta(hours=1))
    assert quiet.effects == []


def test_an_explicit_timer_tick_before_the_wake_up_does_nothing():
    sim = Simulation(journey_around("wait", WAIT_DAY), run_id="r", now=T0)
    sim.start(EventInput("go", T0))
    sim.advance(TimerTick(T0 + timedelta(hours=2)), at=T0 + timedelta(hours=2))
    assert sim.state.status == "waiting"


def test_an_unconnected_port_ends_the_run_and_says_where():
    version = journey_parse(
        {
            "nodes": [
                {"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}},
                {"id": "s", "kind": "send", "config": {"channel": "sms", "template": "t"}},
            ],
            "edges": [{"from": "trigger", "port": "out", "to": "s"}],
        }
    )
    sim = Simulation(version, run_id="r", now=T0)
    sim.start(EventInput("go", T0))
    sim.verdict("skipped", "dnd")
    assert sim.state.status == "exited"
    assert sim.state.end_reason == "ended: nothing connected to port 'skipped' of s"


def test_a_loop_without_a_wait_fails_the_run_instead_of_spinning():
    version = journey_parse(
        {
            "nodes": [
                {"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}},
                {"id": "a", "kind": "update", "config": {"name": "x", "value": 1}},
                {"id": "b", "kind": "update", "config": {"name": "y", "value": 2}},
            ],
            "edges": [
                {"from": "trigger", "port": "out", "to": "a"},
                {"from": "a", "port": "out", "to": "b"},
                {"from": "b", "port": "out", "to": "a"},
            ],
        }
    )
    advance = run_start(version, run_id="r", now=T0)
    assert advance.state.status == "failed"
    assert "loop without a wait" in advance.state.end_reason
    assert len(advance.steps) == MAX_STEPS_PER_ADVANCE


def test_a_node_with_a_broken_config_fails_only_its_run():
    version = journey_around("update", {"name": "x", "value": 1})
    version.nodes[1].config = {"name": "bad name!"}
    version._configs.clear()
    advance = run_start(version, run_id="r", now=T0)
    assert advance.state.status == "failed"
    assert advance.state.end_reason.startswith("failed: n:")


def test_re_entering_a_node_gives_its_send_a_new_attempt_key():
    version = journey_parse(
        {
            "nodes": [
                {"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}},
                {"id": "pause", "kind": "wait", "config": {"hours": 1}},
                {"id": "s", "kind": "send", "config": {"channel": "sms", "template": "t"}},
                {"id": "end", "kind": "exit", "config": {}},
            ],
            "edges": [
                {"from": "trigger", "port": "out", "to": "pause"},
                {"from": "pause", "port": "out", "to": "s"},
                {"from": "s", "port": "failed", "to": "pause"},
                {"from": "s", "port": "sent", "to": "end"},
            ],
        }
    )
    sim = Simulation(version, run_id="r", now=T0)
    sim.start(EventInput("go", T0))
    sim.advance_by(timedelta(hours=1))
    sim.verdict("failed", "provider down")
    sim.advance_by(timedelta(hours=1))
    keys = [e.key for e in sim.effects if isinstance(e, SendRequest)]
    assert keys == ["r:s:1", "r:s:2"]


def test_run_advance_does_not_touch_the_state_it_is_given():
    sim = waiting_sim()
    before = sim.state.model_dump()
    run_advance(sim.version, sim.state, now=T0 + timedelta(days=2))
    assert sim.state.model_dump() == before


def test_run_state_survives_a_json_round_trip():
    sim = Simulation(
        journey_around("send", {"channel": "sms", "template": "t"}), run_id="r", now=T0
    )
    sim.start(EventInput("go", T0, {"when": "2026-03-04"}))
    stored = sim.state.model_dump(mode="json")
    loaded = RunState.model_validate(stored)
    advance = run_advance(sim.version, loaded, now=T0, inputs=[SendVerdict("r:n:1", T0, "sent")])
    assert advance.state.status == "exited"


def test_stopping_a_run_closes_its_current_step():
    sim = waiting_sim()
    advance = run_stop(sim.version, sim.state, now=T0, reason="journey stopped by ops")
    assert advance.state.status == "exited"
    assert [(s.node_id, s.reason) for s in advance.steps] == [("n", "journey stopped by ops")]


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        run_start(journey_around("wait", WAIT_DAY), run_id="r", now=datetime(2026, 3, 2))


# --- entry rules -------------------------------------------------------------------------------


def entry(**rules):
    return journey_around("wait", WAIT_DAY, correlation_key="order_id").model_copy(
        update={"entry": journey_parse({"entry": {"correlation_key": "order_id", **rules}}).entry}
    )


def test_one_active_run_per_order():
    version = entry(one_active_per_key=True)
    prior = [PriorRun("waiting", "O1", T0)]
    refused = entry_decide(version, now=T0, correlation="O1", prior=prior)
    assert (refused.allowed, refused.reason) == (False, "already in this journey for order_id=O1")
    assert entry_decide(version, now=T0, correlation="O2", prior=prior).allowed


def test_reentry_never_and_after_a_cooldown():
    prior = [PriorRun("completed", "O1", T0)]
    never = entry(reentry="never")
    assert not entry_decide(
        never, now=T0 + timedelta(days=90), correlation="O2", prior=prior
    ).allowed
    cool = entry(reentry="cooldown", cooldown_hours=24)
    assert not entry_decide(
        cool, now=T0 + timedelta(hours=23), correlation="O2", prior=prior
    ).allowed
    assert entry_decide(cool, now=T0 + timedelta(hours=24), correlation="O2", prior=prior).allowed


def test_a_higher_priority_journey_suppresses_promotions_only():
    active = [(20, ["promotional"])]
    assert send_suppressed("promotional", priority=0, active=active)
    assert not send_suppressed("service", priority=0, active=active)
    assert not send_suppressed("promotional", priority=30, active=active)


def test_an_advance_with_an_unread_customer_goes_on_until_a_step_reads_the_customer():
    from journeys.engine import CustomerNeeded, CustomerUnread, CustomerView

    unread = CustomerUnread("7", "Asia/Kolkata", "hi")
    sim = waiting_sim()
    done = run_advance(sim.version, sim.state, now=T0 + timedelta(hours=25), customer=unread)
    assert done.state.status == "exited"  # a timer needs nothing of the customer
    branch = journey_parse({
        "nodes": [
            {"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}},
            {"id": "wait", "kind": "wait", "config": {"mode": "duration", "hours": 1}},
            {"id": "tier", "kind": "branch", "config": {"arms": [{"port": "gold", "when": {
                "path": "attributes.tier", "op": "eq", "value": "gold"}}], "otherwise": "other"}},
            {"id": "gold", "kind": "exit", "config": {}},
            {"id": "other", "kind": "exit", "config": {}},
        ],
        "edges": [{"from": "trigger", "port": "out", "to": "wait"},
                  {"from": "wait", "port": "out", "to": "tier"},
                  {"from": "tier", "port": "gold", "to": "gold"},
                  {"from": "tier", "port": "other", "to": "other"}],
    })  # fmt: skip
    state = run_start(branch, run_id="b", now=T0, customer=unread).state
    assert state.node_id == "wait"  # entering a duration wait reads only the time zone
    later = T0 + timedelta(hours=2)
    with pytest.raises(CustomerNeeded):
        run_advance(branch, state, now=later, customer=unread)
    gold = CustomerView(customer_id="7", attributes={"tier": "gold"})
    assert run_advance(branch, state, now=later, customer=gold).state.node_id == "gold"
