"""Test runs: drive one run through a draft with ``simulate.Simulation`` and outcomes the person
chose per node (delivered, read, ignored, pressed 1, ...), on a simulated clock. Nothing is
written and nothing is sent: the messages are rendered through the template preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from journeys.engine import CallRequest, CustomerView, EventInput, JourneyVersion, SendRequest
from journeys.engine.simulate import Simulation

MAX_ROUNDS = 80
THINK = timedelta(minutes=7)  # how long the simulated customer takes to read, reply or press

# The simulated message statuses for each choice (after the dispatcher's verdict "sent").
MESSAGE_CHOICES = {
    "read": ("Delivered and read", ("delivered", "read")),
    "delivered": ("Delivered, not read", ("delivered",)),
    "ignored": ("Ignored (sent, no delivery report)", ()),
    "replied": ("Replied", ("delivered", "read", "replied")),
    "clicked": ("Tapped a button", ("delivered", "read", "clicked")),
    "skipped": ("Blocked by a guardrail (skipped)", None),
    "failed": ("Failed at the provider", None),
}


@dataclass
class NodeChoice:
    node_id: str
    label: str
    options: list[tuple[str, str]]
    default: str


@dataclass
class TestRun:
    steps: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    status: str = ""
    end_reason: str = ""


def choices_for(version: JourneyVersion) -> list[NodeChoice]:
    """What the person may choose, per node whose outcome depends on the customer."""
    found = []
    for node in version.nodes:
        try:
            config = version.config(node.id)
        except Exception:  # a node that does not parse cannot run; validation names it
            continue
        name = node.label or node.id
        if node.kind == "send":
            options = [(k, text) for k, (text, _) in MESSAGE_CHOICES.items()]
            found.append(NodeChoice(node.id, name, options, "read"))
        elif node.kind == "voice_call":
            options = [(f"key:{d}", f"Pressed {d} ({label})") for d, label in config.keys.items()]
            options += [("no_key", "Answered, pressed nothing"), ("no_answer", "No answer")]
            found.append(NodeChoice(node.id, name, options, options[0][0]))
        elif node.kind == "escalation":
            options = [
                (f"rung:{i}", f"Responds to rung {i + 1} ({rung.channel})")
                for i, rung in enumerate(config.rungs)
            ] + [("none", "Never responds")]
            found.append(NodeChoice(node.id, name, options, "rung:0"))
        elif node.kind == "wait_for" and config.event:
            options = [("arrives", f"{config.event} arrives"), ("timeout", "Times out")]
            found.append(NodeChoice(node.id, name, options, "arrives"))
        elif node.kind == "webhook":
            found.append(
                NodeChoice(node.id, name, [("ok", "Answers 200"), ("failed", "Fails")], "ok")
            )
    return found


def test_run(
    version: JourneyVersion,
    *,
    choices: dict[str, str],
    customer: CustomerView,
    start: datetime,
    trigger_properties: dict[str, Any],
) -> TestRun:
    """Walk the run until it ends (or MAX_ROUNDS inputs), answering each wait per ``choices``."""
    sim = Simulation(version, run_id="test-run", now=start, customer=customer)
    entry = version.entry_node()
    if entry is not None and entry.kind == "trigger.event":
        sim.start(EventInput(entry.config.get("event", ""), start, trigger_properties))
    else:
        sim.start(**trigger_properties)
    rungs: dict[str, int] = {}
    for _ in range(MAX_ROUNDS):
        state = sim.state
        if state is None or state.ended or state.wait is None:
            break
        _answer(sim, version, choices, rungs)
    return _result(sim, version)


def _answer(sim: Simulation, version: JourneyVersion, choices: dict[str, str], rungs) -> None:
    state = sim.state
    wait, node = state.wait, version.node(state.node_id)
    choice = choices.get(node.id, "")
    if wait.outcome == "verdict" and wait.message_key:
        return _verdict(sim, node, choice, rungs)
    if node.kind == "escalation" and wait.message_key:
        index = rungs.get(node.id, 0)
        if choice == f"rung:{index}":
            rung = version.config(node.id).rungs[index]
            sim.now += THINK
            return _outcome_for_rung(sim, rung, wait.message_key)
    elif wait.outcome == "call" and wait.message_key:
        return _call(sim, choice)
    if node.kind == "wait_for" and wait.event and choice != "timeout":
        sim.now += THINK
        key = version.entry.correlation_key
        props = {key: state.correlation} if key and state.correlation else {}
        return sim.event(wait.event, **props)
    if node.kind == "webhook" and wait.message_key:
        return sim.webhook(choice != "failed", 200 if choice != "failed" else 500, "test run")
    sim.advance_to(max(sim.now, wait.wake_at))


def _verdict(sim: Simulation, node, choice: str, rungs) -> None:
    if node.kind == "escalation":
        rungs[node.id] = rungs.get(node.id, -1) + 1
        return sim.verdict("sent")
    if node.kind == "voice_call":
        sim.verdict("sent")
        if choice == "no_answer":
            sim.call("no_answer")
        return None
    text, statuses = MESSAGE_CHOICES.get(choice, MESSAGE_CHOICES["read"])
    if statuses is None:
        return sim.verdict(choice, reason="test run: " + text.lower())
    key = sim.pending_key
    sim.verdict("sent")
    for status in statuses:
        sim.now += THINK
        sim.outcome(status, key)


def _call(sim: Simulation, choice: str) -> None:
    sim.now += THINK
    if choice.startswith("key:"):
        sim.call("answered")
        return sim.call("keypress", digits=choice[4:])
    if choice == "no_key":
        return sim.call("completed")
    return sim.call("no_answer")


def _outcome_for_rung(sim: Simulation, rung, key: str) -> None:
    if rung.channel == "voice":
        return sim.call("answered")
    for status in ("delivered", "read", "replied", "clicked"):
        sim.outcome(status, key)
        if status == rung.resolved_when:
            return None


def _result(sim: Simulation, version: JourneyVersion) -> TestRun:
    state = sim.state
    result = TestRun(
        status=state.status if state else "", end_reason=state.end_reason if state else ""
    )
    for step in sim.steps:
        result.steps.append(
            {
                "node": step.node_id,
                "kind": step.kind,
                "port": step.port,
                "reason": step.reason,
                "at": step.left_at.isoformat(),
                "notes": list(step.notes),
            }
        )
    for effect in sim.effects:
        if isinstance(effect, SendRequest | CallRequest):
            channel = getattr(effect, "channel", "voice")
            result.messages.append(
                {
                    "node": effect.node_id,
                    "channel": channel,
                    "template": effect.template,
                    "variables": dict(effect.variables),
                    "key": effect.key,
                }
            )
    return result
