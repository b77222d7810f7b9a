"""Property tests over random valid journeys and random input orders (Hypothesis, no database):
every advance leaves the run ended or waiting with a wake-up, no message key repeats within a run,
holdout runs send nothing, the given state is never modified, and replays give the same result."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeys.engine import (
    CallOutcome,
    CallRequest,
    CustomerView,
    EventInput,
    MessageOutcome,
    RunState,
    SendRequest,
    SendVerdict,
    WebhookResult,
    journey_parse,
    journey_validate,
    node_kind,
    run_advance,
    run_start,
)

IST = ZoneInfo("Asia/Kolkata")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=IST)
EVENTS = ("payment.received", "order.delivered", "order.cancelled", "noise")
CONFIGS = {
    "send": lambda d: {"channel": d(st.sampled_from(["sms", "whatsapp", "best"])),
                       "template": "t", "templates": {"sms": "s", "whatsapp": "w"}},
    "wait": lambda d: {"mode": "duration", "minutes": d(st.integers(1, 3000))},
    "wait_for_event": lambda d: {"event": d(st.sampled_from(EVENTS[:2])),
                                 "minutes": d(st.integers(1, 3000))},
    "wait_for_outcome": lambda d: {"outcome": d(st.sampled_from(["delivered", "read"])),
                                   "minutes": d(st.integers(1, 3000))},
    "branch": lambda d: {"arms": [{"port": "yes", "when": {
        "path": d(st.sampled_from(["reachable.whatsapp", "context.flag", "holdout"])),
        "op": "is_true"}}]},
    "split": lambda d: {"arms": [{"port": "A", "percent": 50}, {"port": "B", "percent": 50}]},
    "update": lambda d: {"name": "flag", "value": d(st.booleans())},
    "voice_call": lambda d: {"template": "v", "keys": {"1": "pay", "2": "talk"},
                             "calling_window": {"start": "08:00", "end": "19:00"}},
    "escalation": lambda d: {"rungs": [
        {"channel": "whatsapp", "template": "w", "resolved_when": "read", "minutes": 60},
        {"channel": "voice", "template": "v", "resolved_when": "answered", "minutes": 30}],
        "calling_window": {"start": "08:00", "end": "19:00"}},
    "webhook": lambda d: {"url": "https://hooks.example.com/x"},
}  # fmt: skip
KIND_OF = {"wait_for_event": "wait_for", "wait_for_outcome": "wait_for"}


@st.composite
def journeys(draw, loops=True):
    """A connected journey: every port leads forward, to an end, or (with ``loops``) back to a
    wait node."""
    count = draw(st.integers(1, 8))
    picks = [draw(st.sampled_from(sorted(CONFIGS))) for _ in range(count)]
    nodes = [{"id": "trigger", "kind": "trigger.event", "config": {"event": "go"}}]
    nodes += [
        {"id": f"n{i}", "kind": KIND_OF.get(pick, pick), "config": CONFIGS[pick](draw)}
        for i, pick in enumerate(picks)
    ]
    nodes += [
        {"id": "goal", "kind": "goal", "config": {}},
        {"id": "end", "kind": "exit", "config": {}},
    ]
    edges = [{"from": "trigger", "port": "out", "to": "n0"}]
    version = journey_parse({"nodes": nodes, "edges": []})
    for i in range(count):
        kind = node_kind(nodes[i + 1]["kind"])
        for port in kind.ports(version.config(f"n{i}")):
            waits_behind = [f"n{j}" for j in range(i + 1) if loops and picks[j] == "wait"]
            targets = [f"n{j}" for j in range(i + 1, count)] + ["goal", "end"] + waits_behind
            edges.append({"from": f"n{i}", "port": port.name, "to": draw(st.sampled_from(targets))})
    goal = draw(st.sampled_from([None, "complete", "continue"]))
    return journey_parse(
        {
            "nodes": nodes,
            "edges": edges,
            "goal": {"event": "payment.received", "then": goal} if goal else None,
            "exit_conditions": [{"event": "order.cancelled"}],
            "entry": {"correlation_key": "loan_id"},
            "holdout_percent": draw(st.sampled_from([0, 50])),
        }
    )


ACTIONS = st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 3000)),
    st.tuples(st.just("verdict"), st.sampled_from(["sent", "skipped", "failed", "deferred"])),
    st.tuples(st.just("outcome"), st.sampled_from(["delivered", "read", "failed", "replied"])),
    st.tuples(st.just("call"), st.sampled_from(["answered", "no_answer", "completed", "keypress"])),
    st.tuples(st.just("webhook"), st.booleans()),
    st.tuples(st.just("event"), st.sampled_from(EVENTS), st.sampled_from(["L1", "L2", None])),
)


def _inputs(action, state, now, last_key):
    key = (state.wait.message_key if state.wait else None) or last_key or "none"
    kind = action[0]
    if kind == "verdict":
        until = now + timedelta(hours=1) if action[1] == "deferred" else None
        return [SendVerdict(key, now, action[1], "quiet_hours", until=until)]
    if kind == "outcome":
        return [MessageOutcome(key, now, action[1])]
    if kind == "call":
        return [CallOutcome(key, now, action[1], "1" if action[1] == "keypress" else "")]
    if kind == "webhook":
        return [WebhookResult(key, now, action[1], 200 if action[1] else 500)]
    if kind == "event":
        properties = {"loan_id": action[2]} if action[2] else {}
        return [EventInput(action[1], now, properties)]
    return []


def _check(advance, now, message_keys):
    state = advance.state
    assert state.status != "active"
    if not state.ended:
        assert state.status == "waiting"
        assert state.wait is not None and state.wait.wake_at > now
    for effect in advance.effects:
        if isinstance(effect, SendRequest | CallRequest):
            assert not state.holdout
            assert effect.key not in message_keys
            message_keys.add(effect.key)


def drive(version, actions, customer, run_id="run-1"):
    """Run the journey through ``actions``; returns every advance's (state, steps, effects)."""
    now, message_keys, last_key, trace = T0, set(), None, []
    advance = run_start(
        version, run_id=run_id, now=now, customer=customer,
        event=EventInput("go", now, {"loan_id": "L1"}),
    )  # fmt: skip
    _check(advance, now, message_keys)
    trace.append((advance.state.model_dump(), advance.steps, advance.effects))
    for action in actions:
        if advance.state.ended:
            break
        if action[0] == "advance":
            now += timedelta(minutes=action[1])
        state = advance.state
        last_key = (state.wait.message_key if state.wait else None) or last_key
        before = state.model_dump()
        advance = run_advance(
            version, state, now=now, inputs=_inputs(action, state, now, last_key),
            customer=customer,
        )  # fmt: skip
        assert state.model_dump() == before, "run_advance must not modify the given state"
        _check(advance, now, message_keys)
        trace.append((advance.state.model_dump(), advance.steps, advance.effects))
    return trace


CUSTOMERS = st.builds(
    CustomerView,
    reachable=st.fixed_dictionaries({"whatsapp": st.booleans()}),
    tz=st.sampled_from(["Asia/Kolkata", "Europe/London"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys(), st.lists(ACTIONS, max_size=40), CUSTOMERS)
def test_every_advance_ends_or_waits_and_never_sends_a_key_twice(version, actions, customer):
    errors = [p for p in journey_validate(version) if p.severity == "error"]
    assert [p for p in errors if p.code != "unreachable"] == []
    drive(version, actions, customer)


@settings(max_examples=100, deadline=None)
@given(journeys(), st.lists(ACTIONS, max_size=30), CUSTOMERS)
def test_replaying_the_same_inputs_gives_the_same_result(version, actions, customer):
    assert drive(version, actions, customer) == drive(version, actions, customer)


@settings(max_examples=100, deadline=None)
@given(journeys(loops=False), st.lists(ACTIONS, max_size=30))
def test_time_alone_always_brings_a_run_to_its_end(version, actions):
    """Without loops and with no more inputs, enough time ends every run: every wait times out."""
    trace = drive(version, actions, CustomerView())
    state = RunState.model_validate(trace[-1][0])
    now = T0 + timedelta(days=365)
    for _ in range(200):
        if state.ended:
            break
        now += timedelta(days=3)
        state = run_advance(version, state, now=now).state
    assert state.ended
