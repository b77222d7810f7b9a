"""Drive one run by hand with an explicit clock (pure): tests, the builder's test run, dry runs.

    sim = Simulation(version, run_id="r1", customer=CustomerView(...), now=start)
    sim.start(EventInput("payment.due", start, {"loan_id": "L1"}))
    sim.verdict("sent")                      # the dispatcher's answer to the pending send
    sim.advance_to(start + timedelta(hours=25))
    sim.event("payment.received", loan_id="L1")

Every call returns the ``Advance`` and appends its steps and effects to ``sim.steps`` and
``sim.effects``; ``sim.state`` is the latest state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .enrol import run_start
from .format import JourneyVersion
from .stepper import run_advance
from .types import (
    Advance,
    CallOutcome,
    CustomerView,
    Effect,
    EventInput,
    Input,
    MessageOutcome,
    RunState,
    SendVerdict,
    Step,
    WebhookResult,
)


class Simulation:
    def __init__(
        self,
        version: JourneyVersion,
        *,
        run_id: str,
        now: datetime,
        customer: CustomerView | None = None,
    ) -> None:
        self.version, self.run_id, self.now = version, run_id, now
        self.customer = customer or CustomerView()
        self.state: RunState | None = None
        self.steps: list[Step] = []
        self.effects: list[Effect] = []

    def _record(self, advance: Advance) -> Advance:
        self.state = advance.state
        self.steps.extend(advance.steps)
        self.effects.extend(advance.effects)
        return advance

    def start(self, event: EventInput | None = None, **context: Any) -> Advance:
        advance = run_start(
            self.version,
            run_id=self.run_id,
            now=self.now,
            customer=self.customer,
            event=event,
            context=context or None,
        )
        return self._record(advance)

    def advance(self, *inputs: Input, at: datetime | None = None) -> Advance:
        """Move the clock to ``at`` (if given) and advance with ``inputs``."""
        if at is not None:
            self.now = max(self.now, at)
        if self.state is None:
            raise RuntimeError("start the run first")
        advance = run_advance(
            self.version, self.state, now=self.now, inputs=inputs, customer=self.customer
        )
        return self._record(advance)

    def advance_to(self, at: datetime) -> Advance:
        return self.advance(at=at)

    def advance_by(self, delta: timedelta) -> Advance:
        return self.advance(at=self.now + delta)

    @property
    def pending_key(self) -> str:
        """The message/call/webhook key the run waits on (KeyError-like failure if none)."""
        wait = self.state.wait if self.state else None
        if wait is None or wait.message_key is None:
            raise LookupError("the run is not waiting on a message, call or webhook")
        return wait.message_key

    def verdict(self, status: str, reason: str = "", **extra: Any) -> Advance:
        return self.advance(SendVerdict(self.pending_key, self.now, status, reason, **extra))

    def outcome(self, status: str, key: str | None = None) -> Advance:
        return self.advance(MessageOutcome(key or self.pending_key, self.now, status))

    def call(self, status: str, digits: str = "") -> Advance:
        return self.advance(CallOutcome(self.pending_key, self.now, status, digits))

    def webhook(self, ok: bool, status_code: int | None = 200, reason: str = "") -> Advance:
        return self.advance(WebhookResult(self.pending_key, self.now, ok, status_code, reason))

    def event(self, name: str, **properties: Any) -> Advance:
        return self.advance(EventInput(name, self.now, properties))

    def path(self) -> list[tuple[str, str | None, str]]:
        """(node, port, reason) of every step so far."""
        return [(step.node_id, step.port, step.reason) for step in self.steps]


def journey_around(
    kind: str,
    config: dict[str, Any],
    *,
    event: str = "go",
    correlation_key: str | None = None,
    **fields: Any,
) -> JourneyVersion:
    """A journey of one node ``n`` between an event trigger and an exit per port (``end_<port>``):
    for trying a node kind alone (tests, the inspector's "try it")."""
    from .format import journey_parse
    from .registry import node_kind

    kind_obj = node_kind(kind)
    ports = kind_obj.ports(kind_obj.config_model.model_validate(config))
    nodes = [
        {"id": "trigger", "kind": "trigger.event", "config": {"event": event}},
        {"id": "n", "kind": kind, "config": config},
    ] + [{"id": f"end_{port.name}", "kind": "exit", "config": {}} for port in ports]
    edges = [{"from": "trigger", "port": "out", "to": "n"}] + [
        {"from": "n", "port": port.name, "to": f"end_{port.name}"} for port in ports
    ]
    entry = {"correlation_key": correlation_key}
    return journey_parse({"nodes": nodes, "edges": edges, "entry": entry, **fields})
