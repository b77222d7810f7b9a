"""Every node kind's step, through a one-node journey (trigger -> n -> an exit per port). No DB."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from journeys.engine import (
    CallRequest,
    CustomerView,
    EventInput,
    SendRequest,
    UpdateAttribute,
    WebhookCall,
    node_config_errors,
    segment_matches,
    trigger_matches,
)
from journeys.engine.nodes.split import split_bucket
from journeys.engine.nodes.webhook import url_problem
from journeys.engine.simulate import Simulation, journey_around

IST = ZoneInfo("Asia/Kolkata")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=IST)  # a Monday, 10:00 in Mumbai
WA = CustomerView(customer_id="c1", reachable={"whatsapp": True})


def sim_for(kind, config, *, customer=WA, now=T0, run_id="run-1", **fields):
    version = journey_around(kind, config, **fields)
    return Simulation(version, run_id=run_id, now=now, customer=customer)


def started(kind, config, *, props=None, **kwargs):
    sim = sim_for(kind, config, **kwargs)
    sim.start(EventInput("go", sim.now, props or {}))
    return sim


def node_steps(sim):
    return [(s.port, s.reason) for s in sim.steps if s.node_id == "n"]


# --- triggers ----------------------------------------------------------------------------------


def test_event_trigger_enrols_and_moves_on():
    sim = started("update", {"name": "x", "value": 1})
    assert sim.steps[0].node_id == "trigger"
    assert sim.steps[0].reason == "enrolled on go"
    assert sim.state.status == "exited"


def test_event_trigger_matches_only_its_event_and_filter():
    version = journey_around("update", {"name": "x", "value": 1})
    version.nodes[0].config["filter"] = {"path": "event.amount", "op": "gt", "value": 500}
    version._configs.clear()
    assert trigger_matches(version, EventInput("go", T0, {"amount": 900}), WA)
    assert not trigger_matches(version, EventInput("go", T0, {"amount": 100}), WA)
    assert not trigger_matches(version, EventInput("other", T0, {"amount": 900}), WA)


def _with_trigger(kind, config):
    version = journey_around("update", {"name": "x", "value": 1})
    version.nodes[0].kind, version.nodes[0].config = kind, config
    version._configs.clear()
    return version


def test_inbound_trigger_matches_keyword_in_any_case_and_calls():
    version = _with_trigger("trigger.inbound", {"channel": "sms", "keywords": ["PAY"]})
    hit = EventInput("inbound.message", T0, {"channel": "sms", "text": "pay now"})
    wrong_word = EventInput("inbound.message", T0, {"channel": "sms", "text": "STOP"})
    wrong_channel = EventInput("inbound.message", T0, {"channel": "whatsapp", "text": "PAY"})
    assert trigger_matches(version, hit, WA)
    assert not trigger_matches(version, wrong_word, WA)
    assert not trigger_matches(version, wrong_channel, WA)
    calls = _with_trigger("trigger.inbound", {"channel": "call"})
    assert trigger_matches(calls, EventInput("inbound.call", T0), WA)


def test_segment_trigger_selects_customers_by_attributes():
    version = _with_trigger(
        "trigger.segment", {"filter": {"path": "attributes.city", "op": "eq", "value": "Pune"}}
    )
    assert segment_matches(version, CustomerView(attributes={"city": "Pune"}), now=T0)
    assert not segment_matches(version, CustomerView(attributes={"city": "Delhi"}), now=T0)


def test_date_trigger_waits_until_three_days_before_the_due_date_at_local_time():
    version = _with_trigger(
        "trigger.date",
        {"source": "event_property", "event": "loan.approved", "name": "emi_due_date",
         "offset_days": -3, "at": "10:00"},
    )  # fmt: skip
    sim = Simulation(version, run_id="r", now=T0, customer=WA)
    sim.start(EventInput("loan.approved", T0, {"emi_due_date": "2026-03-10"}))
    assert sim.state.status == "waiting"
    assert sim.state.wait.wake_at == datetime(2026, 3, 7, 10, 0, tzinfo=IST)
    sim.advance_to(datetime(2026, 3, 7, 10, 0, tzinfo=IST))
    assert sim.steps[0].reason == "enrolled: 3 days before emi_due_date at 10:00"
    assert trigger_matches(version, EventInput("loan.approved", T0, {"emi_due_date": "x"}), WA)


def test_date_trigger_without_a_date_exits_with_the_reason():
    version = _with_trigger("trigger.date", {"name": "emi_due_date"})
    sim = Simulation(version, run_id="r", now=T0, customer=WA)
    sim.start()
    assert sim.state.status == "exited"
    assert sim.state.end_reason == "exited: no date in emi_due_date"


# --- send --------------------------------------------------------------------------------------

SEND_WA = {"channel": "whatsapp", "template": "payment_reminder_whatsapp", "purpose": "service"}


def test_send_emits_one_request_with_the_run_node_attempt_key_and_waits_for_the_verdict():
    sim = started("send", SEND_WA, props={"amount": 4500})
    (request,) = [e for e in sim.effects if isinstance(e, SendRequest)]
    assert request.key == "run-1:n:1"
    assert (request.channel, request.template, request.purpose) == (
        "whatsapp",
        "payment_reminder_whatsapp",
        "service",
    )
    assert request.variables == {"amount": 4500}
    assert sim.state.status == "waiting"
    assert sim.state.wait.message_key == "run-1:n:1"


def test_sent_verdict_takes_the_sent_port():
    sim = started("send", SEND_WA)
    sim.verdict("sent")
    assert node_steps(sim) == [("sent", "sent by WhatsApp")]


def test_blocked_send_takes_skipped_with_the_policy_reason_in_words():
    sim = started("send", SEND_WA)
    sim.verdict("skipped", "no_consent:whatsapp:service")
    assert node_steps(sim) == [("skipped", "skipped: no WhatsApp consent")]


def test_provider_failure_takes_failed():
    sim = started("send", SEND_WA)
    sim.verdict("failed", "provider rejected the number")
    assert node_steps(sim) == [("failed", "failed: provider rejected the number")]


def test_quiet_hours_deferral_keeps_waiting_and_is_noted_on_the_step():
    night = datetime(2026, 3, 2, 22, 30, tzinfo=IST)
    sim = started("send", {**SEND_WA, "purpose": "promotional"}, now=night)
    until = datetime(2026, 3, 3, 9, 0, tzinfo=IST)
    sim.verdict("deferred", "quiet_hours", until=until)
    assert sim.state.status == "waiting"
    assert sim.state.wait.reason == "deferred to 09:00 by quiet hours"
    assert sim.state.wait.wake_at > until
    sim.advance_to(until)
    sim.verdict("sent")
    (step,) = [s for s in sim.steps if s.node_id == "n"]
    assert step.notes == ("deferred to 09:00 by quiet hours",)
    assert step.port == "sent"


def test_no_verdict_in_time_takes_failed():
    sim = started("send", SEND_WA)
    sim.advance_by(timedelta(hours=7))
    assert node_steps(sim) == [("failed", "failed: no verdict from the dispatcher in time")]


def test_a_verdict_for_another_message_is_ignored():
    sim = started("send", SEND_WA)
    from journeys.engine import SendVerdict

    sim.advance(SendVerdict("other-run:n:1", sim.now, "sent"))
    assert sim.state.status == "waiting"
    assert node_steps(sim) == []


def test_delivered_before_the_verdict_counts_as_sent():
    sim = started("send", SEND_WA)
    sim.outcome("delivered")
    assert node_steps(sim) == [("sent", "sent (delivered reported)")]


def test_best_channel_send_names_the_channel_the_dispatcher_chose():
    config = {"channel": "best", "templates": {"whatsapp": "wa_t", "sms": "sms_t"}}
    sim = started("send", config)
    (request,) = [e for e in sim.effects if isinstance(e, SendRequest)]
    assert request.templates == {"whatsapp": "wa_t", "sms": "sms_t"}
    sim.verdict("sent", channel="sms")
    assert node_steps(sim) == [("sent", "sent by SMS")]
    assert sim.state.messages["run-1:n:1"].channel == "sms"


def test_holdout_run_sends_nothing_and_says_so():
    sim = started("send", SEND_WA, holdout_percent=50, run_id=_holdout_run_id(50))
    assert sim.state.holdout
    assert not [e for e in sim.effects if isinstance(e, SendRequest)]
    assert node_steps(sim) == [("sent", "holdout: not sent")]


def _holdout_run_id(percent):
    from journeys.engine import holdout_assign

    return next(f"run-{i}" for i in range(1000) if holdout_assign(f"run-{i}", percent))


def test_send_config_errors_name_the_field():
    errors = node_config_errors("send", {"channel": "pigeon", "template": "x"})
    assert "channel" in errors
    assert "template" in str(node_config_errors("send", {"channel": "sms"}))


# --- wait --------------------------------------------------------------------------------------


def test_wait_duration_wakes_after_it():
    sim = started("wait", {"mode": "duration", "hours": 24})
    assert sim.state.wait.wake_at == T0 + timedelta(hours=24)
    sim.advance_by(timedelta(hours=23))
    assert sim.state.status == "waiting"
    sim.advance_by(timedelta(hours=1))
    assert node_steps(sim) == [("out", "waited: 24h")]


def test_wait_until_time_of_day_uses_the_customers_zone():
    london = CustomerView(tz="Europe/London")
    sim = started("wait", {"mode": "time_of_day", "at": "09:00"}, customer=london)
    # 10:00 in Mumbai is 04:30 in London: the same morning, 09:00 London time.
    assert sim.state.wait.wake_at == datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/London"))


def test_wait_for_a_window_passes_at_once_inside_it_and_waits_outside():
    config = {"mode": "window", "window_start": "09:00", "window_end": "21:00"}
    inside = started("wait", config)
    assert node_steps(inside)[0][0] == "out"
    outside = started("wait", config, now=datetime(2026, 3, 2, 22, 0, tzinfo=IST))
    assert outside.state.wait.wake_at == datetime(2026, 3, 3, 9, 0, tzinfo=IST)


def test_wait_until_a_date_in_the_context():
    config = {"mode": "date", "date_name": "due", "offset_days": -1, "at": "08:30"}
    sim = started("wait", config, props={"due": "2026-03-05"})
    assert sim.state.wait.wake_at == datetime(2026, 3, 4, 8, 30, tzinfo=IST)


def test_wait_of_zero_is_refused_with_the_field():
    assert "days/hours/minutes" in str(node_config_errors("wait", {"mode": "duration"}))


# --- wait_for ----------------------------------------------------------------------------------

WAIT_PAYMENT = {"event": "payment.received", "hours": 48}


def test_wait_for_matches_the_event_of_the_same_loan_only():
    sim = started("wait_for", WAIT_PAYMENT, props={"loan_id": "L1"}, correlation_key="loan_id")
    assert sim.state.wait.event == "payment.received"
    assert sim.state.wait.correlation == "L1"
    sim.event("payment.received", loan_id="L2", amount=10)
    assert sim.state.status == "waiting"
    sim.event("payment.received", loan_id="L1", amount=4500)
    assert node_steps(sim) == [("matched", "matched: payment.received")]
    assert sim.state.context["amount"] == 4500


def test_wait_for_times_out_with_the_reason():
    sim = started("wait_for", WAIT_PAYMENT, props={"loan_id": "L1"}, correlation_key="loan_id")
    sim.advance_by(timedelta(hours=48))
    assert node_steps(sim) == [("timeout", "timeout: no payment.received within 48h")]


def test_wait_for_event_filter_checks_its_properties():
    config = {**WAIT_PAYMENT, "filter": {"path": "event.amount", "op": "gte", "value": 1000}}
    sim = started("wait_for", config)
    sim.event("payment.received", amount=10)
    assert sim.state.status == "waiting"
    sim.event("payment.received", amount="1500")
    assert node_steps(sim)[0][0] == "matched"


def test_an_event_timed_before_the_timeout_wins_even_when_processed_late():
    sim = started("wait_for", WAIT_PAYMENT)
    late = T0 + timedelta(hours=50)
    sim.advance(EventInput("payment.received", T0 + timedelta(hours=47)), at=late)
    assert node_steps(sim)[0][0] == "matched"


def _send_then_wait_read():
    from journeys.engine import journey_parse

    return journey_parse(
        {
            "nodes": [
                {"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}},
                {"id": "wa", "kind": "send", "config": SEND_WA},
                {"id": "wait", "kind": "wait", "config": {"hours": 1}},
                {"id": "n", "kind": "wait_for",
                 "config": {"outcome": "read", "message_node": "wa", "hours": 24}},
                {"id": "read", "kind": "exit", "config": {}},
                {"id": "unread", "kind": "exit", "config": {}},
            ],
            "edges": [
                {"from": "trigger", "port": "out", "to": "wa"},
                {"from": "wa", "port": "sent", "to": "wait"},
                {"from": "wait", "port": "out", "to": "n"},
                {"from": "n", "port": "matched", "to": "read"},
                {"from": "n", "port": "timeout", "to": "unread"},
            ],
        }
    )  # fmt: skip


def test_a_read_receipt_that_arrived_during_an_earlier_wait_is_not_missed():
    sim = Simulation(_send_then_wait_read(), run_id="r", now=T0, customer=WA)
    sim.start(EventInput("go", T0))
    key = sim.pending_key
    sim.verdict("sent")
    sim.outcome("read", key=key)
    sim.advance_by(timedelta(hours=1))
    assert ("n", "matched", "matched: WhatsApp read") in sim.path()


def test_unread_whatsapp_falls_back_after_24h():
    sim = Simulation(_send_then_wait_read(), run_id="r", now=T0, customer=WA)
    sim.start(EventInput("go", T0))
    key = sim.pending_key
    sim.verdict("sent")
    sim.outcome("delivered", key=key)
    sim.advance_by(timedelta(hours=1))
    sim.advance_by(timedelta(hours=24))
    assert ("n", "timeout", "fallback: WhatsApp unread after 24h") in sim.path()


def test_wait_for_needs_exactly_one_target():
    assert "event/outcome" in str(node_config_errors("wait_for", {"hours": 1}))
    both = {"event": "x", "outcome": "read", "hours": 1}
    assert "event/outcome" in str(node_config_errors("wait_for", both))


# --- branch and split --------------------------------------------------------------------------

HAS_WA = {
    "arms": [{"port": "yes", "when": {"path": "reachable.whatsapp", "op": "is_true"}}],
    "otherwise": "no",
}


def test_branch_goes_yes_for_whatsapp_customers_and_no_for_others():
    assert node_steps(started("branch", HAS_WA)) == [("yes", "yes: reachable.whatsapp is true")]
    no = started("branch", HAS_WA, customer=CustomerView())
    assert no.steps[1].port == "no"


def test_branch_n_way_on_consent_and_attributes():
    config = {
        "arms": [
            {"port": "promo", "label": "promotional consent",
             "when": {"path": "consent.sms.promotional", "op": "eq", "value": "granted"}},
            {"port": "vip", "when": {"all": [
                {"path": "attributes.tier", "op": "in", "value": ["gold", "platinum"]},
                {"not": {"path": "context.amount", "op": "lt", "value": 1000}}]}},
        ],
        "otherwise": "rest",
    }  # fmt: skip
    granted = CustomerView(consent={"sms.promotional": "granted"})
    assert started("branch", config, customer=granted).steps[1].reason == (
        "promo: promotional consent"
    )
    gold = CustomerView(attributes={"tier": "gold"})
    assert started("branch", config, customer=gold, props={"amount": 5000}).steps[1].port == "vip"
    assert started("branch", config, customer=gold, props={"amount": 10}).steps[1].port == "rest"


def test_split_is_stable_per_run_and_close_to_its_percentages():
    config = {"arms": [{"port": "A", "percent": 70}, {"port": "B", "percent": 30}]}
    first = started("split", config, run_id="run-42").steps[1].port
    again = started("split", config, run_id="run-42").steps[1].port
    assert first == again
    share = sum(split_bucket(f"run-{i}", "n") < 70 for i in range(4000)) / 4000
    assert 0.66 < share < 0.74


def test_split_percentages_must_add_up_to_100():
    bad = {"arms": [{"port": "A", "percent": 50}, {"port": "B", "percent": 20}]}
    assert "add up to 100" in str(node_config_errors("split", bad))


# --- voice call --------------------------------------------------------------------------------

CALL = {
    "template": "emi_reminder_voice",
    "keys": {"1": "pay now", "2": "speak to us"},
    "collection": True,
    "calling_window": {"start": "08:00", "end": "19:00"},
}


def test_voice_call_places_a_call_and_takes_the_pressed_key():
    sim = started("voice_call", CALL)
    (call,) = [e for e in sim.effects if isinstance(e, CallRequest)]
    assert call.keys == {"1": "pay now", "2": "speak to us"}
    assert call.calling_window == ("08:00", "19:00")
    sim.verdict("sent")
    sim.call("answered")
    sim.call("keypress", digits="2")
    assert node_steps(sim) == [("2", "pressed 2: speak to us")]


def test_unanswered_call_takes_no_answer():
    sim = started("voice_call", CALL)
    sim.verdict("sent")
    sim.call("no_answer")
    assert node_steps(sim) == [("no_answer", "no answer (no answer)")]


def test_answered_call_without_a_key_takes_no_key():
    sim = started("voice_call", CALL)
    sim.verdict("sent")
    sim.call("completed")
    assert node_steps(sim) == [("no_key", "answered, no key pressed")]


def test_blocked_call_takes_no_answer_with_the_reason():
    sim = started("voice_call", CALL)
    sim.verdict("skipped", "do_not_call")
    assert node_steps(sim) == [("no_answer", "skipped: customer asked not to be called")]


def test_holdout_call_is_not_placed():
    sim = started("voice_call", CALL, holdout_percent=50, run_id=_holdout_run_id(50))
    assert not [e for e in sim.effects if isinstance(e, CallRequest)]
    assert node_steps(sim) == [("no_answer", "holdout: not called")]


def test_voice_ports_follow_the_keypad_menu():
    from journeys.engine import node_ports

    version = journey_around("voice_call", CALL)
    names = [port.name for port in node_ports(version.node("n"))]
    assert names == ["1", "2", "no_key", "no_answer"]
    assert "keys" in node_config_errors("voice_call", {**CALL, "keys": {"12": "x"}})


# --- update and webhook ------------------------------------------------------------------------


def test_update_sets_a_context_value():
    sim = started("update", {"name": "stage", "value": "reminded"})
    assert sim.state.context["stage"] == "reminded"


def test_update_of_an_attribute_is_an_effect_copied_from_a_path():
    config = {"target": "attribute", "name": "last_order", "value_path": "context.order_id"}
    sim = started("update", config, props={"order_id": "O-9"})
    assert UpdateAttribute("run-1", "n", "last_order", "O-9") in sim.effects


WEBHOOK = {"url": "https://hooks.example.com/x", "timeout_seconds": 5}


def test_webhook_emits_a_call_and_follows_its_result():
    sim = started("webhook", WEBHOOK, props={"order_id": "O-1"})
    (call,) = [e for e in sim.effects if isinstance(e, WebhookCall)]
    assert call.body == {"run_id": "run-1", "context": {"order_id": "O-1"}}
    assert call.timeout_seconds == 5
    sim.webhook(True, 200)
    assert node_steps(sim) == [("ok", "ok: HTTP 200")]


def test_webhook_failure_and_silence_take_failed():
    failed = started("webhook", WEBHOOK)
    failed.webhook(False, 500)
    assert node_steps(failed) == [("failed", "failed: HTTP 500")]
    silent = started("webhook", WEBHOOK)
    silent.advance_by(timedelta(minutes=16))
    assert node_steps(silent)[0][0] == "failed"


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://localhost/x",
        "https://printer.local/x",
        "https://user:pw@hooks.example.com/x",
    ],
)
def test_webhook_refuses_unsafe_urls(url):
    assert url_problem(url) is not None
    with pytest.raises(ValidationError):
        journey_around("webhook", {"url": url})


# --- escalation ladder -------------------------------------------------------------------------

LADDER = {
    "purpose": "service",
    "calling_window": {"start": "08:00", "end": "19:00"},
    "rungs": [
        {"channel": "whatsapp", "template": "wa", "resolved_when": "read", "hours": 24},
        {"channel": "sms", "template": "sms", "resolved_when": "delivered", "hours": 12},
        {"channel": "voice", "template": "voice", "resolved_when": "answered", "hours": 2,
         "keys": {"1": "pay"}},
    ],
}  # fmt: skip


def test_ladder_moves_on_from_unread_whatsapp_and_resolves_on_sms_delivery():
    sim = started("escalation", LADDER)
    assert sim.pending_key == "run-1:n:1.r1"
    sim.verdict("sent")
    sim.outcome("delivered")
    sim.advance_by(timedelta(hours=24))
    assert sim.pending_key == "run-1:n:1.r2"
    sim.verdict("sent")
    sim.outcome("delivered")
    (step,) = [s for s in sim.steps if s.node_id == "n"]
    assert (step.port, step.reason) == ("resolved", "resolved: SMS delivered")
    assert step.notes == ("fallback: WhatsApp unread after 24h",)
    assert [r["result"] for r in step.detail["rungs"]] == [
        "fallback: WhatsApp unread after 24h",
        "resolved: SMS delivered",
    ]


def test_ladder_skips_a_blocked_rung_at_once_and_ends_exhausted():
    sim = started("escalation", LADDER)
    sim.verdict("skipped", "no_consent:whatsapp:service")
    sim.verdict("failed", "invalid number")
    sim.verdict("sent")
    sim.call("no_answer")
    (step,) = [s for s in sim.steps if s.node_id == "n"]
    assert step.port == "exhausted"
    assert step.notes == ("skipped: WhatsApp no WhatsApp consent", "failed: SMS invalid number")
    assert step.reason == "exhausted: fallback: voice no answer"
    kinds = [type(e).__name__ for e in sim.effects if isinstance(e, SendRequest | CallRequest)]
    assert kinds == ["SendRequest", "SendRequest", "CallRequest"]


def test_ladder_resolves_when_the_call_is_answered():
    sim = started("escalation", LADDER)
    sim.verdict("skipped", "dnd")
    sim.verdict("skipped", "dnd")
    sim.verdict("sent")
    sim.call("answered")
    assert node_steps(sim) == [("resolved", "resolved: voice answered")]


def test_ladder_in_holdout_sends_nothing_and_runs_out_its_deadlines():
    sim = started("escalation", LADDER, holdout_percent=50, run_id=_holdout_run_id(50))
    for hours in (24, 12, 2):
        sim.advance_by(timedelta(hours=hours))
    assert not [e for e in sim.effects if isinstance(e, SendRequest | CallRequest)]
    assert node_steps(sim) == [("exhausted", "exhausted: holdout: not sent (voice)")]


# --- ends --------------------------------------------------------------------------------------


def test_goal_node_completes_and_exit_node_exits():
    from journeys.engine import journey_parse

    def run(end_kind):
        version = journey_parse(
            {
                "nodes": [
                    {"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}},
                    {"id": "end", "kind": end_kind, "config": {"reason": "done"}},
                ],
                "edges": [{"from": "trigger", "port": "out", "to": "end"}],
            }
        )
        sim = Simulation(version, run_id="r", now=T0)
        sim.start(EventInput("go", T0))
        return sim.state

    assert (run("goal").status, run("goal").end_reason) == ("completed", "goal: done")
    assert (run("exit").status, run("exit").end_reason) == ("exited", "exit: done")
