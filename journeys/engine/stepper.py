"""Advancing one run: graph + state + inputs + clock in, new state + steps + effects out (pure).

``run_advance`` copies the state, then

1. enters the current node if the run is ``active`` (a fresh run from ``run_start``);
2. takes the inputs in time order; before each, fires the run's timer if it was due by then (so a
   payment that happened before the 48h timeout beats it even when processed late); each event
   is checked against the journey's exit conditions, then its goal, then given to the waiting node;
3. fires the timer if it is due by ``now``;

walking instantaneous nodes after each move until the run waits (every wait has a ``wake_at``) or
ends. At most ``MAX_STEPS_PER_ADVANCE`` nodes are entered per advance: more means a loop without a
wait slipped past validation, and the run fails with that reason instead of spinning.

Every step of one advance is stamped ``now``; the service passes the clock (accelerated in the
sandbox). Holdout runs take the same path but no SendRequest or CallRequest leaves the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .conditions import condition_eval
from .format import ExitRule, GoalRule, JourneyVersion
from .nodes.common import run_scope
from .registry import node_kind
from .types import (
    KEYED_INPUTS,
    Advance,
    CallOutcome,
    CallRequest,
    CustomerNeeded,
    CustomerView,
    EventInput,
    Input,
    MessageRecord,
    RunState,
    Schedule,
    SendRequest,
    SendVerdict,
    Step,
    StepInput,
    StepOutcome,
    TimerTick,
)

MAX_STEPS_PER_ADVANCE = 100
_RECORDED_VERDICTS = ("sent", "skipped", "failed")


class _Runner:
    def __init__(
        self, graph: JourneyVersion, state: RunState, now: datetime, customer: CustomerView
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.graph, self.state, self.now, self.customer = graph, state, now, customer
        self.steps: list[Step] = []
        self.effects: list = []
        self.budget = MAX_STEPS_PER_ADVANCE
        self.first_wake = state.wait.wake_at if state.wait else None

    # --- the loop ---------------------------------------------------------------------------

    def run(self, inputs: Iterable[Input]) -> Advance:
        if self.state.status == "active" and self.state.node_id:
            self._enter_chain(self.state.node_id)
        for inp in sorted(inputs, key=lambda item: item.at):
            if self.state.ended:
                break
            self._fire_due_timer(inp.at)
            if not self.state.ended and not isinstance(inp, TimerTick):
                self._take(inp)
        self._fire_due_timer(self.now)
        wait = self.state.wait
        if self.state.status == "waiting" and wait and wait.wake_at != self.first_wake:
            self.effects.append(Schedule(self.state.run_id, wait.wake_at))
        return Advance(self.state, self.steps, self.effects)

    def _fire_due_timer(self, at: datetime) -> None:
        while self.state.status == "waiting" and self.state.wait and self.state.wait.wake_at <= at:
            if self.budget <= 0:
                return self._fail("failed: too many timers in one advance")
            self.budget -= 1
            outcome = self._step(TimerTick(at=at))
            if outcome.ignored:
                return self._fail(f"failed: node {self.state.node_id} ignored its timer")
            self._apply_and_walk(outcome)

    def _take(self, inp: Input) -> None:
        if isinstance(inp, KEYED_INPUTS):
            self._record_outcome(inp)
        if isinstance(inp, EventInput):
            relation = self._relation(inp)
            if relation == "other":
                return
            self.state.seen[inp.name] = inp.at
            if self._exit_rules(inp, relation) or self._goal(inp, relation):
                return
        if self.state.status == "waiting":
            outcome = self._step(inp)
            if not outcome.ignored:
                self._apply_and_walk(outcome)

    # --- journey-wide rules -----------------------------------------------------------------

    def _relation(self, event: EventInput) -> str:
        """match: carries this run's correlation value; other: carries another one (not ours);
        customer: carries none (a customer-level event such as inbound.call)."""
        key = self.graph.entry.correlation_key
        if not key or self.state.correlation is None or key not in event.properties:
            return "customer"
        return "match" if str(event.properties[key]) == self.state.correlation else "other"

    def _rule_applies(self, rule: ExitRule | GoalRule, event: EventInput, relation: str) -> bool:
        if rule.event != event.name:
            return False
        needs_match = rule.match_correlation and self.state.correlation is not None
        if needs_match and relation != "match":
            return False
        scope = run_scope(self.state, self.customer, self.now, dict(event.properties))
        return condition_eval(rule.when, scope)

    def _exit_rules(self, event: EventInput, relation: str) -> bool:
        for rule in self.graph.exit_conditions:
            if self._rule_applies(rule, event, relation):
                reason = f"exit: {rule.reason or event.name}"
                self._close(None, reason)
                self._end("exited", reason)
                return True
        return False

    def _goal(self, event: EventInput, relation: str) -> bool:
        goal = self.graph.goal
        if goal is None or self.state.goal_reached_at is not None:
            return False
        if not self._rule_applies(goal, event, relation):
            return False
        self.state.goal_reached_at = self.now
        reason = f"goal: {event.name}"
        if goal.then == "complete":
            self._close(None, reason)
            self._end("completed", reason)
            return True
        if goal.then == "goto" and goal.goto and goal.goto != self.state.node_id:
            self._close(None, f"{reason}, moving to {goal.goto}")
            # The goto target (e.g. a receipt) renders from the context: keep the event's data.
            self.state.context.update(event.properties)
            self._enter_chain(goal.goto)
            return True
        notes = list(self.state.node_data.get("_notes", [])) + [f"{reason} (run continues)"]
        self.state.node_data["_notes"] = notes
        return False

    # --- nodes ------------------------------------------------------------------------------

    def _step(self, inp: Input | None) -> StepOutcome:
        node = self.graph.node(self.state.node_id or "")
        if node is None:
            return StepOutcome(end="failed", reason=f"failed: no node {self.state.node_id!r}")
        try:
            ctx = StepInput(
                journey=self.graph,
                node=node,
                config=self.graph.config(node.id),
                state=self.state,
                customer=self.customer,
                now=self.now,
                attempt=self.state.attempts.get(node.id, 1),
                input=inp,
            )
            return node_kind(node.kind).step(ctx)
        except CustomerNeeded:
            raise  # the caller reads the customer and advances the run again (run_advance)
        except Exception as error:  # a bad node fails its run, never the worker's whole batch
            return StepOutcome(end="failed", reason=f"failed: {node.id}: {error}")

    def _enter_chain(self, node_id: str | None) -> None:
        while node_id is not None and not self.state.ended:
            if self.budget <= 0:
                # The last node was already closed with its port: end without another step.
                reason = (
                    f"failed: over {MAX_STEPS_PER_ADVANCE} steps at once (loop without a wait?)"
                )
                self._end("failed", reason)
                return
            self.budget -= 1
            state = self.state
            state.node_id, state.entered_at, state.status = node_id, self.now, "active"
            state.attempts[node_id] = state.attempts.get(node_id, 0) + 1
            state.node_data, state.wait = {}, None
            node_id = self._apply(self._step(None))

    def _apply_and_walk(self, outcome: StepOutcome) -> None:
        self._enter_chain(self._apply(outcome))

    def _apply(self, outcome: StepOutcome) -> str | None:
        """Apply one step outcome; returns the node to enter next, if any."""
        state, node_id = self.state, self.state.node_id or ""
        state.context.update(outcome.context)
        notes = list(state.node_data.get("_notes", [])) + outcome.notes
        if outcome.node_data is not None:
            state.node_data = dict(outcome.node_data)
        state.node_data["_notes"] = notes
        for effect in outcome.effects:
            if isinstance(effect, SendRequest | CallRequest):
                if state.holdout:
                    continue
                channel = effect.channel if isinstance(effect, SendRequest) else "voice"
                state.messages[effect.key] = MessageRecord(node_id=node_id, channel=channel)
            self.effects.append(effect)
        if outcome.end:
            self._close(None, outcome.reason, outcome.detail)
            self._end(outcome.end, outcome.reason)
            return None
        if outcome.port:
            return self._leave(node_id, outcome)
        if outcome.wait:
            state.status, state.wait = "waiting", outcome.wait
            return None
        self._fail(f"failed: node {node_id} neither moved nor waited")
        return None

    def _leave(self, node_id: str, outcome: StepOutcome) -> str | None:
        port = outcome.port or ""
        self._close(port, outcome.reason, outcome.detail)
        self.state.ports[node_id] = port
        target = self.graph.next_node(node_id, port)
        if target is None:
            status = "completed" if self.state.goal_reached_at else "exited"
            self._end(status, f"ended: nothing connected to port {port!r} of {node_id}")
        return target

    # --- records ----------------------------------------------------------------------------

    def _record_outcome(self, inp: Input) -> None:
        record = self.state.messages.get(inp.key)  # type: ignore[union-attr]
        if record is None:
            return
        if isinstance(inp, SendVerdict):
            if inp.channel:
                record.channel = inp.channel
            status = inp.status if inp.status in _RECORDED_VERDICTS else None
        elif isinstance(inp, CallOutcome):
            status = "keypress" if inp.digits else inp.status
        else:
            status = getattr(inp, "status", None)
        if status and status not in record.statuses:
            record.statuses.append(status)

    def _close(self, port: str | None, reason: str, detail: dict | None = None) -> None:
        state = self.state
        node = self.graph.node(state.node_id or "")
        if node is None or state.ended:
            return
        self.steps.append(
            Step(
                node_id=node.id,
                kind=node.kind,
                attempt=state.attempts.get(node.id, 1),
                entered_at=state.entered_at or self.now,
                left_at=self.now,
                port=port,
                reason=reason,
                notes=tuple(state.node_data.get("_notes", ())),
                detail=detail or {},
            )
        )

    def _end(self, status: str, reason: str) -> None:
        state = self.state
        state.status, state.ended_at, state.end_reason, state.wait = status, self.now, reason, None

    def _fail(self, reason: str) -> None:
        self._close(None, reason)
        self._end("failed", reason)


def _copy_state(state: RunState) -> RunState:
    """A copy the runner may change. Cheaper than a deep copy (which costs more than stepping):
    the runner replaces nested values rather than mutating them, except the containers copied
    here (context keys, counters, notes and message statuses)."""
    node_data = {k: list(v) if isinstance(v, list) else v for k, v in state.node_data.items()}
    messages = {
        key: record.model_copy(update={"statuses": list(record.statuses)})
        for key, record in state.messages.items()
    }
    return state.model_copy(
        update={
            "context": dict(state.context),
            "attempts": dict(state.attempts),
            "node_data": node_data,
            "messages": messages,
            "ports": dict(state.ports),
            "seen": dict(state.seen),
        }
    )


def run_advance(
    graph: JourneyVersion,
    state: RunState,
    *,
    now: datetime,
    inputs: Iterable[Input] = (),
    customer: CustomerView | None = None,
) -> Advance:
    """Advance one run. Pure: the given state is not modified; the same arguments always give the
    same result. An ended run ignores its inputs (nothing happens, nothing is recorded).
    ``customer`` may be a ``CustomerUnread``: if a step reads more than it holds,
    ``CustomerNeeded`` is raised and the caller advances the run again with the whole snapshot."""
    state = _copy_state(state)
    if state.ended:
        return Advance(state)
    return _Runner(graph, state, now, customer or CustomerView()).run(inputs)


def run_stop(
    graph: JourneyVersion, state: RunState, *, now: datetime, reason: str, status: str = "exited"
) -> Advance:
    """End a run from outside (journey stopped, customer erased), closing its current step."""
    state = _copy_state(state)
    if state.ended:
        return Advance(state)
    runner = _Runner(graph, state, now, CustomerView())
    runner._close(None, reason)
    runner._end(status, reason)
    return Advance(runner.state, runner.steps)
