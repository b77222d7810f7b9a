"""Dry run / forecast of a draft: replay the workspace's stored events of the last N days through
the draft with the engine's pure core, and count per node how many customers would reach it, the
messages per channel, their estimated cost, and the sends that consent, quiet hours and caps
would block. Nothing is written: no run, no step, no message.

How the replay decides (kept close to the live path, see journeys/services and the outbox):

- customers are the ones whose events in the window would enter the draft (``trigger_matches``
  and ``entry_decide`` against the forecast's own earlier runs); each customer's events are then
  replayed in time order: first to their open forecast runs, then as a possible new entry;
- every send is decided by the pure ``channels_app.policy.decide_send`` with the customer's
  consent, preferences and DND as they stand now, the workspace policy (caps, windows, echo), and
  the forecast's own earlier sends as "sent today" and echo history (real sends of other journeys
  are left out: the forecast shows what this draft adds);
- a sent message is assumed delivered, and read (``assume="read"``) or not (``"unread"``); calls
  are answered or not alike; webhooks answer 200; a deferred send goes at its allowed time;
- timers run to the end of the window.

Work is bounded: at most MAX_CUSTOMERS customers and MAX_EVENTS events are replayed; the result
says when either cap cut the replay short.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q

from channels_app.consent.selectors import preferences_bulk
from channels_app.outbox.services import template_family_of
from channels_app.policies.schemas import PolicyConfig
from channels_app.policies.selectors import effective_purpose, message_cost_estimate, policy_get
from channels_app.policy import (
    Decision,
    EchoCheck,
    FrequencyCaps,
    SendCheck,
    SendWindow,
    SentToday,
    decide_send,
    local_day_bounds,
)
from console.models import Customer, Event, Workspace
from journeys.builder.selectors import template_preview_for
from journeys.engine import (
    CallOutcome,
    CallRequest,
    CustomerView,
    EventInput,
    Input,
    JourneyVersion,
    MessageOutcome,
    PriorRun,
    RunState,
    SendRequest,
    SendVerdict,
    WebhookCall,
    WebhookResult,
    entry_decide,
    run_advance,
    run_start,
    trigger_matches,
)
from journeys.selectors import templates_info
from journeys.services.stepping import customer_views

DAYS_DEFAULT = 7
DAYS_MAX = 30
MAX_CUSTOMERS = 300
MAX_EVENTS = 5000
MAX_ROUNDS = 20
CHANNEL_FAMILIES = ("message.", "call.")  # outcomes of real messages: never replayed
BEST_ORDER = ("whatsapp", "sms", "voice")
ASSUMPTIONS = {
    "read": "Sent messages are delivered and read; calls are answered",
    "unread": "Sent messages are delivered, never read; calls are not answered",
}
CONSENT_REASONS = ("no_consent:", "dnd", "do_not_call")


class ForecastError(ValueError):
    """The forecast cannot run (e.g. the draft has no trigger the replay can use)."""


@dataclass(frozen=True)
class TemplateFacts:
    channel: str
    category: str  # SMS/voice: the template's purpose; WhatsApp: utility/marketing/...
    status: str


@dataclass
class PolicyFacts:
    """What the pure send decision and the price need besides the message: the workspace's
    policy and templates (read once), customers' preferences (read once per forecast)."""

    workspace: Workspace
    config: PolicyConfig
    templates: dict[str, TemplateFacts]
    preferences: dict[int, Any] = field(default_factory=dict)
    costs: dict[tuple[str, str, str], Decimal | None] = field(default_factory=dict)

    def cost_of(self, key: str, channel: str, purpose: str) -> Decimal | None:
        """One message's estimated cost, as the outbox prices it (template rendered with
        sample values for its SMS segments and WhatsApp category); None when unpriced."""
        memo = (key, channel, purpose)
        if memo not in self.costs:
            self.costs[memo] = _cost(self.workspace, key, channel, purpose)
        return self.costs[memo]


def policy_facts_build(*, workspace: Workspace) -> PolicyFacts:
    templates = {
        key: TemplateFacts(info.channel, info.category, info.status)
        for key, info in templates_info(workspace=workspace).items()
    }
    return PolicyFacts(workspace, policy_get(workspace=workspace), templates)


def _cost(workspace: Workspace, key: str, channel: str, purpose: str) -> Decimal | None:
    rendered = template_preview_for(workspace=workspace, key=key)
    segments = max(1, rendered.segments) if rendered is not None else 1
    category = {
        "sms": purpose,
        "whatsapp": ((rendered.whatsapp_category if rendered else "") or "utility").lower(),
        "voice": "minute",
    }.get(channel, purpose)
    try:
        return message_cost_estimate(
            workspace=workspace, channel=channel, category=category, segments=segments, minutes=1
        )
    except (ValueError, KeyError):
        return None


@dataclass
class Forecast:
    days: int
    start: datetime
    end: datetime
    assume: str
    customers: int = 0
    customers_capped: bool = False
    events: int = 0
    events_capped: bool = False
    runs: int = 0
    refused: int = 0
    holdout: int = 0
    reached: Counter = field(default_factory=Counter)  # node -> distinct customers
    messages: Counter = field(default_factory=Counter)  # channel -> sent
    cost: Decimal = Decimal("0")
    unpriced: int = 0
    blocked: Counter = field(default_factory=Counter)  # consent | quiet_hours | caps | other
    reasons: Counter = field(default_factory=Counter)  # decision reason -> count
    deferred: int = 0
    failed: int = 0
    ended: Counter = field(default_factory=Counter)  # final run status -> count

    @property
    def capped(self) -> bool:
        return self.customers_capped or self.events_capped

    @property
    def sends(self) -> int:
        return sum(self.messages.values())


# --- one customer's replay ---------------------------------------------------------------------


@dataclass
class _Run:
    id: str
    state: RunState
    now: datetime


class _CustomerReplay:
    """The forecast runs of one customer; the customer's events arrive in time order."""

    def __init__(self, version, customer: Customer, view, facts: PolicyFacts, out: Forecast):
        self.version, self.customer, self.view, self.facts, self.out = (
            version,
            customer,
            view,
            facts,
            out,
        )
        self.runs: list[_Run] = []
        self.agenda: list[tuple[datetime, int, _Run, Input]] = []
        self.seq = itertools.count()
        self.sent: list[tuple[datetime, str, str, str]] = []  # at, channel, purpose, family

    def event(self, event: EventInput) -> None:
        self._agenda_until(event.at)
        for run in self.runs:
            if not run.state.ended:
                self._advance(run, event.at, [event])
        self._enrol(event)

    def finish(self, end: datetime) -> None:
        self._agenda_until(None)
        for run in self.runs:
            if not run.state.ended:
                self._advance(run, max(end, run.now), [])
        for run in self.runs:
            self.out.ended[run.state.status] += 1
        for node_id in {n for run in self.runs for n in run.state.attempts}:
            self.out.reached[node_id] += 1

    def _enrol(self, event: EventInput) -> None:
        if not trigger_matches(self.version, event, self.view):
            return
        key = self.version.entry.correlation_key
        value = event.properties.get(key) if key else None
        correlation = str(value) if value is not None else None
        prior = [
            PriorRun("active" if not r.state.ended else r.state.status, r.state.correlation,
                     r.state.started_at or r.now)
            for r in self.runs
        ]  # fmt: skip
        if not entry_decide(
            self.version, now=event.at, correlation=correlation, prior=prior
        ).allowed:
            self.out.refused += 1
            return
        run_id = f"forecast-{self.customer.pk}-{len(self.runs) + 1}"
        advance = run_start(
            self.version, run_id=run_id, now=event.at, customer=self.view, event=event
        )
        run = _Run(run_id, advance.state, event.at)
        self.runs.append(run)
        self.out.runs += 1
        self.out.holdout += int(advance.state.holdout)
        self._effects(run, advance.effects)

    def _advance(self, run: _Run, at: datetime, inputs: list[Input]) -> None:
        run.now = max(run.now, at)
        advance = run_advance(
            self.version, run.state, now=run.now, inputs=inputs, customer=self.view
        )
        run.state = advance.state
        self._effects(run, advance.effects)

    def _effects(self, run: _Run, effects) -> None:
        for _ in range(MAX_ROUNDS):
            answers: list[Input] = []
            for effect in effects:
                if isinstance(effect, SendRequest | CallRequest):
                    answers += self._send(run, effect)
                elif isinstance(effect, WebhookCall):
                    answers.append(WebhookResult(effect.key, run.now, True, 200, "forecast"))
            if not answers or run.state.ended:
                return
            advance = run_advance(
                self.version, run.state, now=run.now, inputs=answers, customer=self.view
            )
            run.state, effects = advance.state, advance.effects

    def _agenda_until(self, at: datetime | None) -> None:
        while self.agenda and (at is None or self.agenda[0][0] <= at):
            when, _, run, item = heapq.heappop(self.agenda)
            if not run.state.ended:
                self._advance(run, when, [item])
                if isinstance(item, SendVerdict):
                    self._after_sent(run, item.key, item.channel or "", when)

    # --- sends ------------------------------------------------------------------------------

    def _send(self, run: _Run, request: SendRequest | CallRequest) -> list[Input]:
        at = run.now
        channel, template = self._channel(request)
        facts = self.facts.templates.get(template) if template else None
        if facts is None or not self.customer.phone:
            self.out.failed += 1
            why = "no_phone" if facts else "no_template"
            self.out.reasons[why] += 1
            return [SendVerdict(request.key, at, "failed", why, channel=channel)]
        decision = decide_send(self._check(request, channel, facts, at))
        if decision.action == "block":
            self._count_block(decision)
            return [SendVerdict(request.key, at, "skipped", decision.reason, channel=channel)]
        self._count_sent(channel, template, facts, request, decision.until or at)
        if decision.action == "defer":
            self.out.deferred += 1
            sent = SendVerdict(request.key, decision.until, "sent", channel=channel)
            heapq.heappush(self.agenda, (decision.until, next(self.seq), run, sent))
            return [SendVerdict(request.key, at, "deferred", decision.reason, decision.until)]
        return [SendVerdict(request.key, at, "sent", channel=channel)] + self._outcomes(
            request.key, channel, at
        )

    def _after_sent(self, run: _Run, key: str, channel: str, at: datetime) -> None:
        outcomes = self._outcomes(key, channel, at)
        if outcomes and not run.state.ended:
            self._advance(run, at, outcomes)

    def _outcomes(self, key: str, channel: str, at: datetime) -> list[Input]:
        read = self.out.assume == "read"
        if channel == "voice":
            statuses = ("answered", "completed") if read else ("no_answer",)
            return [CallOutcome(key, at, status) for status in statuses]
        statuses = ("delivered", "read") if read else ("delivered",)
        return [MessageOutcome(key, at, status) for status in statuses]

    def _channel(self, request: SendRequest | CallRequest) -> tuple[str, str]:
        if isinstance(request, CallRequest):
            return "voice", request.template
        if request.channel != "best":
            return request.channel, request.template
        for channel in BEST_ORDER:
            if channel in request.templates and self.view.reachable.get(channel):
                return channel, request.templates[channel]
        return "sms", ""

    def _check(self, request, channel: str, facts: TemplateFacts, at: datetime) -> SendCheck:

        config = self.facts.config
        purpose = effective_purpose(request.purpose, facts.category)
        prefs = self.facts.preferences.get(self.customer.pk)
        family = template_family_of(self._channel(request)[1])
        echo = None
        if config.echo_window_minutes:
            others = [t for t, ch, _, fam in self.sent if fam == family and ch != channel]
            echo = EchoCheck(
                max(others, default=None), timedelta(minutes=config.echo_window_minutes)
            )
        return SendCheck(
            now=at,
            channel=channel,
            purpose=purpose,
            consent=self.view.consent.get(f"{channel}.{purpose}", "none"),
            customer_tz=self.view.tz,
            collection_call=bool(getattr(request, "collection", False)) and channel == "voice",
            dnd=bool(prefs and prefs.dnd),
            dnd_blocked_categories=prefs.dnd_blocked_categories if prefs else None,
            workspace_category=config.ncpr_category,
            quiet_hours=prefs.quiet_hours if prefs else None,
            do_not_call=bool(prefs and prefs.do_not_call),
            template_status="APPROVED" if facts.status == "approved" else facts.status,
            caps=FrequencyCaps(config.promotional_daily_cap, config.total_daily_cap),
            sent_today=self._sent_today(at),
            echo=echo,
            send_windows=tuple(
                SendWindow(w.channel, w.purpose, w.start, w.end) for w in config.send_windows
            ),
        )

    def _sent_today(self, at: datetime) -> SentToday:
        start, end = local_day_bounds(at, self.view.tz)
        today = [p for t, _, p, _ in self.sent if start <= t < end and p != "transactional"]
        return SentToday(sum(p == "promotional" for p in today), len(today))

    def _count_sent(self, channel, template, facts: TemplateFacts, request, at) -> None:

        purpose = effective_purpose(request.purpose, facts.category)
        self.sent.append((at, channel, purpose, template_family_of(template)))
        self.out.messages[channel] += 1
        cost = self.facts.cost_of(template, channel, request.purpose)
        if cost is None:
            self.out.unpriced += 1
        else:
            self.out.cost += cost

    def _count_block(self, decision: Decision) -> None:
        reason = decision.reason
        self.out.reasons[reason] += 1
        if reason.startswith(CONSENT_REASONS):
            self.out.blocked["consent"] += 1
        elif reason == "quiet_hours":
            self.out.blocked["quiet_hours"] += 1
        elif reason.startswith("cap:"):
            self.out.blocked["caps"] += 1
        else:
            self.out.blocked["other"] += 1


# --- reading the window ------------------------------------------------------------------------


def _entry_names(version: JourneyVersion) -> set[str] | None:
    """Event names that can enter the draft, or None when its trigger does not enter on events."""
    node = version.entry_node()
    if node is None:
        raise ForecastError("The draft needs exactly one trigger before it can be forecast.")
    config = node.config
    if node.kind == "trigger.event" and config.get("event"):
        return {str(config["event"])}
    if node.kind == "trigger.inbound":
        return {"inbound.call" if config.get("channel") == "call" else "inbound.message"}
    if node.kind == "trigger.date" and config.get("source") == "event_property":
        return {str(config.get("event") or "")}
    return None


def _window_events(workspace: Workspace, names: set[str], start, end, out: Forecast):
    """The customers who could enter (first MAX_CUSTOMERS by first entry event) and all their
    events in the window (first MAX_EVENTS), in time order."""
    window = Q(workspace=workspace, occurred_at__gte=start, occurred_at__lt=end)
    entrants = (
        Event.objects.filter(window, name__in=names)
        .order_by("occurred_at", "id")
        .values_list("customer_id", flat=True)
    )
    chosen: list[int] = []
    for customer_id in entrants.iterator(chunk_size=2000):
        if customer_id not in chosen:
            if len(chosen) == MAX_CUSTOMERS:
                out.customers_capped = True
                break
            chosen.append(customer_id)
    qs = Event.objects.filter(window, customer_id__in=chosen)
    for family in CHANNEL_FAMILIES:
        qs = qs.exclude(name__startswith=family)
    events = list(
        qs.order_by("occurred_at", "id").values_list(
            "customer_id", "name", "occurred_at", "properties"
        )[: MAX_EVENTS + 1]
    )
    if len(events) > MAX_EVENTS:
        out.events_capped = True
        events = events[:MAX_EVENTS]
    return chosen, events


def journey_forecast(
    *,
    workspace: Workspace,
    version: JourneyVersion,
    facts: PolicyFacts,
    end: datetime,
    days: int = DAYS_DEFAULT,
    assume: str = "read",
) -> Forecast:
    """Replay the last ``days`` days before ``end`` through ``version`` (a parsed draft).

    Reads events, customers and consent; writes nothing. Raises ForecastError when the draft
    cannot be replayed (no single trigger, or a trigger that does not enter on events)."""
    if not 1 <= days <= DAYS_MAX:
        raise ForecastError(f"days: choose a whole number from 1 to {DAYS_MAX}")
    if assume not in ASSUMPTIONS:
        raise ForecastError(f"assume: choose one of {', '.join(ASSUMPTIONS)}")
    start = end - timedelta(days=days)
    out = Forecast(days=days, start=start, end=end, assume=assume)
    names = _entry_names(version)
    if names is None:
        raise ForecastError(
            "The forecast replays events; this draft's trigger enters customers from a segment "
            "or a date attribute, which it cannot replay yet."
        )
    chosen, events = _window_events(workspace, names, start, end, out)
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=chosen)}
    views: dict[int, CustomerView] = customer_views(customers.values(), end) if customers else {}
    facts.preferences = preferences_bulk(customers.values())
    replays = {
        pk: _CustomerReplay(version, customer, views[pk], facts, out)
        for pk, customer in customers.items()
    }
    for customer_id, name, occurred_at, properties in events:
        replays[customer_id].event(EventInput(name, occurred_at, properties or {}))
    for replay in replays.values():
        replay.finish(end)
    out.customers, out.events = len(customers), len(events)
    return out
