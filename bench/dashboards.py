"""Dashboard data requests with many runs, messages and events (issue 7 "Scale", issue 8 workload 9).

Loads a scratch database with N runs (and their steps), M messages and E events over the last
30 days: six journeys of two versions each (one with an A/B split), several nodes and channels,
a day-shaped traffic curve, 10 % holdout, inbound calls and messages that repeat, opt-outs.
Bulk loading goes through the driver (executemany on SQLite, COPY on PostgreSQL). The rollup
cells the dashboards read are computed from the generated rows with the same pure functions the
rollup job uses (``analytics.cells``), plus the run facts the drill-down reads; loading message
status rows and facts for every message is left out (the dashboards never read them).

Then it times every data request of the journey dashboard (page, htmx body refresh, each CSV
table, drill-down pages, with the default 30 days, a version filter and a 7-day range), the
overview and the channel dashboard through the Django test client (goal: p95 < 300 ms), and how
many source rows per second the incremental rollup job absorbs when a fresh slice of runs,
steps, messages, status changes, events and opt-outs (the engine's shape) arrives on top.

Usage: python bench/dashboards.py --runs 1000000 --messages 5000000 --events 2000000
           [--database sqlite|postgresql://...] [--repeats 20] [--absorb-runs 5000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from common import django_connect, django_setup, peak_rss_mb, results_write, timed

# Before django_setup: its own scratch SQLite file, so other benchmarks can run at the same time.
os.environ.setdefault("BENCH_SQLITE", "bench-dashboards.sqlite3")


# --- the world: journeys, customers and what happened to them ------------------------------------

# (node id, channel, hours after the previous node, chance the goal is reached after it)
Send = tuple[str, str, float, float]
JOURNEYS: list[tuple[str, str, float, list[Send], list[Send], list[Send]]] = [
    # name, correlation key, weight, version 1 sends, version 2 sends, arm "b" of version 2
    ("EMI reminder", "loan_id", 3.0,
     [("sms_d3", "sms", 0, 0.22), ("sms_d1", "sms", 48, 0.2), ("voice_d0", "voice", 24, 0.25)],
     [("wa_d3", "whatsapp", 0, 0.38), ("sms_d3", "sms", 24, 0.15), ("wa_d1", "whatsapp", 24, 0.2),
      ("voice_d0", "voice", 24, 0.25)], []),
    ("Order delivery", "order_id", 3.0,
     [("sms_out", "sms", 0, 0.45), ("sms_ofd", "sms", 24, 0.4)],
     [("wa_out", "whatsapp", 0, 0.5), ("wa_ofd", "whatsapp", 24, 0.45), ("sms_ofd", "sms", 2, 0.2)],
     []),
    ("KYC update", "application_id", 1.5,
     [("sms_kyc", "sms", 0, 0.18), ("sms_kyc2", "sms", 72, 0.15)],
     [("wa_kyc", "whatsapp", 0, 0.33), ("sms_kyc", "sms", 24, 0.15), ("voice_kyc", "voice", 48, 0.2)],
     []),
    ("Payment failed", "order_id", 1.0,
     [("sms_retry", "sms", 0, 0.3)],
     [("wa_retry", "whatsapp", 0, 0.4), ("sms_retry", "sms", 6, 0.2), ("voice_retry", "voice", 24, 0.3)],
     []),
    ("Card activation", "card_id", 1.5,
     [("sms_act", "sms", 0, 0.25), ("sms_act2", "sms", 48, 0.15)],
     [("wa_act", "whatsapp", 0, 0.36), ("sms_act", "sms", 24, 0.15)],
     [("sms_act_b", "sms", 0, 0.27), ("wa_act_b", "whatsapp", 24, 0.2)]),
    ("Welcome", "", 1.0,
     [("sms_welcome", "sms", 0, 0.1), ("sms_tips", "sms", 72, 0.1)],
     [("wa_welcome", "whatsapp", 0, 0.15), ("wa_tips", "whatsapp", 72, 0.12)], []),
]  # fmt: skip
PROVIDERS = {"sms": ("msg91", "gupshup"), "whatsapp": ("gupshup", "meta"), "voice": ("exotel",)}
LANGS = ("en", "hi", "ta", "mr")
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 10, 11, 12, 12, 11, 10, 9, 7, 5, 3, 2]
DAYS, HOLDOUT, SWITCH_DAY = 30, 0.1, 12  # version 2 from day 12 on (both live on days 10-12)
STANDALONE = (("otp", "sms", "service"), ("statement", "whatsapp", "service"),
              ("offer", "sms", "promotional"), ("offer_wa", "whatsapp", "marketing"))  # fmt: skip


def graph_of(sends: list[Send], arm_b: list[Send]) -> dict:
    nodes = [{"id": "trigger", "kind": "trigger.event", "label": "Trigger"}]
    if arm_b:
        nodes.append({"id": "ab", "kind": "split", "label": "A/B split"})
    for node_id, channel, _, _ in sends + arm_b:
        nodes += [{"id": f"wait_{node_id}", "kind": "wait"},
                  {"id": node_id, "kind": "send", "label": f"{channel} {node_id}"}]  # fmt: skip
    return {"nodes": [*nodes, {"id": "goal", "kind": "goal", "label": "Goal"}], "edges": []}


class Writer:
    """Rows of one table, flushed in big chunks through the driver (COPY on PostgreSQL).
    Columns not given take the model field's default, prepared once."""

    def __init__(self, model, columns: list[str], chunk: int = 20_000) -> None:
        from django.db import connection

        self.vendor, self.chunk, self.count = connection.vendor, chunk, 0
        self.table = model._meta.db_table
        rest, missing = [], []
        for f in model._meta.concrete_fields:
            if f.column in columns or (
                f.primary_key and f.get_internal_type().endswith("AutoField")
            ):
                continue
            if f.has_default():
                rest.append((f.column, f.get_db_prep_save(f.get_default(), connection)))
            elif f.null:
                rest.append((f.column, None))
            elif f.blank and f.get_internal_type() in ("CharField", "TextField"):
                rest.append((f.column, ""))
            else:
                missing.append(f.column)
        if missing:
            raise SystemExit(f"{self.table}: give a value for {', '.join(missing)} in the loader")
        self.columns = columns + [c for c, _ in rest]
        self.tail = tuple(v for _, v in rest)
        self.rows: list[tuple] = []
        self.on_full = self.flush  # a Sink flushes every table then, parents first

    def add(self, *values) -> None:
        self.rows.append(values + self.tail)
        if len(self.rows) >= self.chunk:
            self.on_full()

    def flush(self) -> None:
        from django.db import connection, transaction

        if not self.rows:
            return
        names = ", ".join(self.columns)
        with transaction.atomic(), connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.table} ({names}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({names}) VALUES ({marks})", self.rows
                )
        self.count += len(self.rows)
        self.rows = []


class Sink:
    """Where generated rows go: a Writer per table, the running cell sums, conversions."""

    def __init__(self, workspace_id: int, status_rows: bool) -> None:
        from django.db import connection

        from analytics.models import RollupCell, RunFact
        from channels_app.models.consent import ConsentEntry
        from channels_app.models.outbox import Message, MessageStatusChange
        from console.models import Customer, Event
        from journeys.models import Run, Step

        self.ws, self.status_rows = workspace_id, status_rows
        self.pg = connection.vendor == "postgresql"
        self.cells: dict = {}
        self.customers = Writer(Customer, ["id", "workspace_id", "external_id", "name",
            "name_key", "phone", "whatsapp", "language", "created_at", "updated_at"])  # fmt: skip
        self.runs = Writer(Run, ["id", "workspace_id", "journey_id", "version_id", "customer_id",
            "status", "node_id", "correlation_key", "correlation_value", "enrol_key", "holdout",
            "goal_reached_at", "entered_at", "ended_at", "wake_at"])  # fmt: skip
        self.steps = Writer(Step, ["id", "run_id", "node_id", "kind", "attempt", "entered_at",
            "left_at", "port"])  # fmt: skip
        self.messages = Writer(Message, ["id", "workspace_id", "customer_id", "channel",
            "provider_kind", "purpose", "template_key", "language", "status", "decision_action",
            "decision_reason", "cost", "idempotency_key", "run_id", "node_id", "error_code",
            "created_at", "sent_at", "status_at"])  # fmt: skip
        self.changes = Writer(MessageStatusChange, ["message_id", "status", "at", "source"])
        self.events = Writer(Event, ["id", "workspace_id", "customer_id", "name", "properties",
            "occurred_at", "received_at", "idempotency_key"])  # fmt: skip
        self.consent = Writer(ConsentEntry, ["id", "workspace_id", "customer_id", "channel",
            "purpose", "status", "source", "actor_label", "at"])  # fmt: skip
        self.facts = Writer(RunFact, ["run_id", "workspace_id", "journey_id", "version",
            "customer_id", "entered_at", "holdout", "status", "completed", "digital", "escalated",
            "opted_out", "last_node", "contrib"])  # fmt: skip
        self.rollups = Writer(RollupCell, ["workspace_id", "journey_id", "version", "node_id",
            "channel", "hour", "metric", "dim", "count", "amount"])  # fmt: skip

        for writer in self.writers():
            writer.on_full = self.flush_rows

    def flush_rows(self) -> None:
        for writer in self.writers():
            writer.flush()

    def ts(self, at):
        if at is None or self.pg:
            return at
        text = at.isoformat(" ")  # every generated time is in UTC: drop its "+00:00"
        return text[:-6] if text.endswith("+00:00") else at.astimezone(UTC).isoformat(" ")[:-6]

    def money(self, value):
        return value if value is None or self.pg else str(value)

    def json(self, value) -> str:
        return json.dumps(value, separators=(",", ":"))

    def contribute(self, contrib: dict) -> None:
        cells = self.cells
        for key, (count, amount) in contrib.items():
            cell = cells.get(key)
            if cell is None:
                cells[key] = [count, amount]
            else:
                cell[0] += count
                cell[1] += amount

    def writers(self) -> list[Writer]:
        return [self.customers, self.runs, self.steps, self.messages, self.changes, self.events,
                self.consent, self.facts]  # fmt: skip

    def flush(self, *, with_cells: bool) -> None:
        self.flush_rows()
        if with_cells:
            for (jid, version, node, channel, hour, metric, dim), (
                count,
                amount,
            ) in self.cells.items():
                if count or amount:
                    self.rollups.add(self.ws, jid, version, node, channel,
                                     self.ts(datetime.fromisoformat(hour)), metric, dim, count,
                                     amount)  # fmt: skip
            self.rollups.flush()


@dataclass
class Ids:
    customer: int = 0
    run: int = 0
    step: int = 0
    message: int = 0
    event: int = 0
    consent: int = 0

    def next(self, name: str) -> int:
        value = getattr(self, name) + 1
        setattr(self, name, value)
        return value


@dataclass
class World:
    workspace_id: int
    journeys: list  # (journey id, {version number: version id}, spec)
    user: object
    now: datetime
    today: date
    ids: Ids
    journey_id: int = 0
    versions: list = field(default_factory=list)


def world_make(now: datetime) -> World:
    from django.contrib.auth import get_user_model

    from console.models import Membership, Workspace
    from console.roles import roles_sync
    from journeys.models import Journey, JourneyVersion

    workspace = Workspace.objects.create(slug="bench", name="Bench Finance")
    user = get_user_model().objects.create(username="bench-analyst")
    Membership.objects.create(user=user, workspace=workspace, role=roles_sync()["marketing"])
    journeys = []
    for name, key, weight, v1, v2, arm_b in JOURNEYS:
        journey = Journey.objects.create(
            workspace=workspace, name=name, status="live", current_version=2,
            settings={"correlation_key": key} if key else {},
        )  # fmt: skip
        versions = {}
        for number, sends, b in ((1, v1, []), (2, v2, arm_b)):
            versions[number] = JourneyVersion.objects.create(
                journey=journey, number=number, graph=graph_of(sends, b),
                published_at=now - timedelta(days=DAYS if number == 1 else DAYS - SWITCH_DAY + 2),
            ).pk  # fmt: skip
        journeys.append((journey.pk, versions, (name, key, weight, v1, v2, arm_b)))
    tz = ZoneInfo(workspace.timezone)
    world = World(workspace.pk, journeys, user, now, now.astimezone(tz).date(), Ids())
    world.journey_id, world.versions = journeys[0][0], [1, 2]
    return world


class Generator:
    """Customers and everything that happened to them, written to a Sink with their cells."""

    def __init__(self, world: World, sink: Sink, rng: random.Random, *, first: datetime,
                 standalone_rate: float, contact_budget: int) -> None:  # fmt: skip
        self.w, self.sink, self.rng, self.first = world, sink, rng, first
        self.span_hours = (world.now - first).total_seconds() / 3600
        self.standalone_rate = standalone_rate
        self.contacts_left = contact_budget
        self.weights = [spec[2] for _, _, spec in world.journeys]
        self.msg_count = 0

    def entered_at(self) -> datetime:
        rng = self.rng
        while True:
            day = rng.randrange(max(1, int(self.span_hours // 24) + 1))
            hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
            at = self.first + timedelta(days=day, hours=hour - 5.5, minutes=rng.random() * 60)
            if self.first <= at < self.w.now:
                return at

    def customer(self, runs: int) -> None:
        rng, sink, ids = self.rng, self.sink, self.w.ids
        cid = ids.next("customer")
        lang = rng.choice(LANGS)
        name = f"Customer {cid}"
        now = sink.ts(self.w.now)
        sink.customers.add(cid, self.w.workspace_id, f"C{cid:08d}", name, name.lower(),
                           f"+919{cid:09d}", rng.random() < 0.8, lang, now, now)  # fmt: skip
        runs_made, messages, contacts, optouts = [], [], [], []
        for _ in range(runs):
            runs_made.append(self.run(cid, lang, messages, contacts, optouts))
        for _ in range(self._poisson(self.standalone_rate)):
            messages.append(self.standalone(cid, lang))
        self.cells_of(cid, runs_made, messages, contacts, optouts)

    def _poisson(self, rate: float) -> int:
        whole = int(rate)
        return whole + (self.rng.random() < rate - whole)

    def run(self, cid: int, lang: str, messages: list, contacts: list, optouts: list):
        rng, sink, ids, now = self.rng, self.sink, self.w.ids, self.w.now
        index = rng.choices(range(len(self.w.journeys)), self.weights)[0]
        jid, versions, (_, key, _, v1, v2, arm_b) = self.w.journeys[index]
        t0 = self.entered_at()
        day = (t0 - self.first).total_seconds() / 86400
        version = 2 if day >= SWITCH_DAY or (day >= SWITCH_DAY - 2 and rng.random() < 0.5) else 1
        sends, arms = (v2 if version == 2 else v1), ()
        holdout = rng.random() < HOLDOUT
        run_id = ids.next("run")
        steps = [("trigger", "trigger.event", t0, "out")]
        if version == 2 and arm_b:
            port = rng.choice("ab")
            arms = (("ab", port),)
            steps.append(("ab", "split", t0, port))
            sends = v2 if port == "a" else arm_b
        t, status, goal_at, mine = t0, None, None, []
        for node_id, channel, gap, p_goal in sends:
            t = t + timedelta(hours=gap * (0.8 + 0.4 * rng.random()), seconds=rng.random() * 60)
            if t > now:
                status = "waiting"
                break
            if gap:
                steps.append((f"wait_{node_id}", "wait", t, "out"))
            steps.append((node_id, "send", t, "out"))
            if not holdout:
                message = self.message(cid, lang, run_id, jid, version, node_id, channel, t)
                mine.append(message)
                p_goal *= {"read": 1.3, "replied": 1.5, "failed": 0.3, "blocked": 0.0}.get(
                    message.status_now, 1.0
                )
            else:
                p_goal *= 0.5
            if rng.random() < p_goal:
                goal_at = t + timedelta(hours=rng.expovariate(1 / 3))
                if goal_at > now:
                    goal_at, status = None, "waiting"
                else:
                    steps.append(("goal", "goal", goal_at, ""))
                    status = "completed"
                break
        if status is None:
            status = "failed" if rng.random() < 0.04 else "exited"
        ended = goal_at if status == "completed" else (None if status == "waiting" else t)
        value = f"{key[:3].upper()}{cid}-{index}" if key else ""
        for node_id, kind, at, port in steps:
            sink.steps.add(ids.next("step"), run_id, node_id, kind, 1, sink.ts(at), sink.ts(at),
                           port)  # fmt: skip
        node = steps[-1][0]
        sink.runs.add(run_id, self.w.workspace_id, jid, versions[version], cid, status,
                      node if status == "waiting" else "", key, value, f"bench:{run_id}", holdout,
                      sink.ts(goal_at), sink.ts(t0), sink.ts(ended),
                      sink.ts(t + timedelta(hours=24)) if status == "waiting" else None)  # fmt: skip
        row = RunRow(run_id=run_id, customer_id=cid, journey_id=jid, version=version,
                     status=status, entered_at=t0, holdout=holdout, ended_at=ended,
                     goal_reached_at=goal_at, nodes=tuple(s[0] for s in steps), arms=arms)  # fmt: skip
        messages.extend(mine)
        self.contacts_of_run(row, mine, value or f"journey:{jid}", contacts, optouts)
        return row, mine

    def message(self, cid, lang, run_id, jid, version, node_id, channel, t,
                purpose="service", template=None):  # fmt: skip
        rng, sink = self.rng, self.sink
        mid = self.w.ids.next("message")
        self.msg_count += 1
        provider = rng.choice(PROVIDERS[channel])
        template = template or f"{node_id}"
        statuses, reason, error, cost = set(), "", "", None
        sent = delivered = read = None
        if rng.random() < (0.03 if channel == "sms" else 0.015):
            statuses.add("blocked")
            reason = rng.choice(("quiet_hours", "frequency_cap", "dnd", "consent"))
        else:
            sent = t + timedelta(seconds=1 + 3 * rng.random())
            statuses.add("sent")
            if rng.random() < (0.06 if channel == "sms" else 0.04):
                statuses.add("failed")
                error = rng.choice(("30003", "131026", "no-answer", "30005"))
            else:
                delivered = sent + timedelta(seconds=2 + rng.expovariate(1 / 20))
                statuses.add("delivered")
                if channel == "whatsapp" and rng.random() < 0.75:
                    read = delivered + timedelta(seconds=rng.expovariate(1 / 1800))
                    statuses.add("read")
                    if rng.random() < 0.1:
                        statuses.add("replied")
            cost = {"sms": Decimal("0.1800"), "whatsapp": Decimal("0.1150"),
                    "voice": Decimal("0.4500") * rng.randint(1, 3)}[channel]  # fmt: skip
        final = next(s for s in ("replied", "read", "failed", "delivered", "sent", "blocked")
                     if s in statuses)  # fmt: skip
        last_at = read or delivered or sent or t
        sink.messages.add(mid, self.w.workspace_id, cid, channel, provider, purpose, template,
                          lang, final, "block" if reason else "send", reason,
                          sink.money(cost), f"b{mid}", run_id, node_id if run_id else "", error,
                          sink.ts(t), sink.ts(sent), sink.ts(last_at))  # fmt: skip
        if sink.status_rows:
            for status, at in (("sent", sent), ("delivered", delivered), ("read", read),
                               ("failed", sent if "failed" in statuses else None),
                               ("replied", read if "replied" in statuses else None)):  # fmt: skip
                if at is not None:
                    sink.changes.add(mid, status, sink.ts(at), "bench")
        row = MessageRow(
            message_id=mid, customer_id=cid, channel=channel, created_at=t,
            statuses=frozenset(statuses), run_id=run_id, journey_id=jid if run_id else 0,
            version=version if run_id else 0, node_id=node_id if run_id else "",
            provider=provider, template=template, language=lang, cost=cost,
            decision_reason=reason, sent_at=sent, delivered_at=delivered, read_at=read,
        )  # fmt: skip
        object.__setattr__(row, "status_now", final)  # what the run reacts to
        object.__setattr__(row, "error", error)
        return row

    def standalone(self, cid: int, lang: str) -> MessageRow:
        template, channel, purpose = self.rng.choice(STANDALONE)
        return self.message(cid, lang, None, 0, 0, "", channel, self.entered_at(), purpose,
                            template)  # fmt: skip

    def contacts_of_run(self, run: RunRow, mine: list, key: str, contacts: list, optouts: list):
        rng, now = self.rng, self.w.now
        touched = [m for m in mine if "attempted" in m.reached and m.channel != "voice"]
        start = touched[0].touched_at if touched else run.entered_at
        if self.contacts_left > 0 and rng.random() < (0.15 if run.holdout else 0.1):
            at = start + timedelta(hours=rng.expovariate(1 / 6))
            for extra in range(3):
                if at >= now or self.contacts_left <= 0:
                    break
                kind, name, props = rng.choice((
                    ("call", "inbound.call", {"channel": "voice"}),
                    ("call", "inbound.call", {"channel": "voice"}),
                    ("message", "inbound.message", {"channel": "whatsapp", "text": "status?"}),
                    ("advisor", "message.clicked",
                     {"channel": "whatsapp", "button_title": "Speak to an Advisor"}),
                ))  # fmt: skip
                self.event(run.customer_id, name, at, {**props, "run_id": run.run_id})
                contacts.append(ContactRow(
                    self.w.ids.event, run.customer_id, at, kind, props["channel"], key,
                    run.journey_id, run.version, run.group,
                ))  # fmt: skip
                chance = (0.35, 0.3)[extra] if extra < 2 else 0
                if rng.random() >= chance:
                    break
                at += timedelta(days=rng.uniform(0.5, 6) if extra == 0 else rng.uniform(8, 12))
        if touched and rng.random() < 0.006:
            message = rng.choice(touched)
            at = message.touched_at + timedelta(hours=rng.uniform(0.1, 48))
            if at < now:
                entry = self.w.ids.next("consent")
                sink = self.sink
                sink.consent.add(entry, self.w.workspace_id, run.customer_id, message.channel,
                                 "promotional", "withdrawn", "keyword", "customer (keyword)",
                                 sink.ts(at))  # fmt: skip
                self.event(
                    run.customer_id,
                    "inbound.message",
                    at,
                    {"channel": message.channel, "text": "STOP", "keyword": "withdraw"},
                )
                optouts.append(OptOutRow(entry, run.customer_id, message.channel, at))
                self.sink.contribute(optout_contrib(message.channel, "promotional", at))

    def event(self, cid: int, name: str, at: datetime, props: dict) -> None:
        sink, eid = self.sink, self.w.ids.next("event")
        self.contacts_left -= 1
        sink.events.add(eid, self.w.workspace_id, cid, name, sink.json(props), sink.ts(at),
                        sink.ts(at), f"bench-e{eid}")  # fmt: skip

    def cells_of(self, cid, runs_made, messages, contacts, optouts) -> None:
        sink = self.sink
        blamed = optouts_by_run(optouts, messages) if optouts else {}
        for row, mine in runs_made:
            contrib, flags = run_contrib(row, mine, contacts, blamed.get(row.run_id, ()))
            sink.contribute(contrib)
            sink.facts.add(row.run_id, self.w.workspace_id, row.journey_id, row.version, cid,
                           sink.ts(row.entered_at), row.holdout, row.status, flags["completed"],
                           flags["digital"], flags["escalated"], flags["opted_out"],
                           row.last_node[:64],
                           "[]")  # fmt: skip
        for m in messages:
            sink.contribute(message_contrib(m))
            sink.contribute(failure_contrib(m, m.error))
        if contacts:
            sink.contribute(episodes_contrib(contacts, timedelta(days=7)))


def filler_events(world: World, sink: Sink, rng: random.Random, count: int, first) -> None:
    """Events that are not contacts (payments, app opens, other button taps)."""
    span = (world.now - first).total_seconds()
    names = (("payment.received", {"amount": 4999}), ("app.opened", {}),
             ("message.clicked", {"channel": "whatsapp", "button_title": "Pay now"}))  # fmt: skip
    for _ in range(count):
        name, props = rng.choice(names)
        at = first + timedelta(seconds=rng.random() * span)
        eid = world.ids.next("event")
        sink.events.add(eid, world.workspace_id, rng.randint(1, world.ids.customer), name,
                        sink.json(props), sink.ts(at), sink.ts(at), f"bench-e{eid}")  # fmt: skip


def journey_messages_per_run(world: World, seed: int, runs: int) -> float:
    """A pilot (nothing written) to size the messages that are not from journeys."""
    sink = Sink(world.workspace_id, status_rows=False)
    for writer in sink.writers():
        writer.chunk = 10**9  # never written
    probe = Generator(world, sink, random.Random(seed), first=world.now - timedelta(days=DAYS),
                      standalone_rate=0, contact_budget=0)  # fmt: skip
    saved = dataclasses.replace(world.ids)
    customers = max(25, min(500, runs // 8))
    for _ in range(customers):
        probe.customer(4)
    world.ids = saved
    return probe.msg_count / (4 * customers)


def world_load(
    *, runs: int, messages: int, events: int, seed: int, status_rows: bool = False
) -> World:
    """Everything the dashboards read, over the last 30 days up to now."""
    now = datetime.now(UTC).replace(microsecond=0)
    world = world_make(now)
    per_run = journey_messages_per_run(world, seed, runs)
    customers = max(1, runs // 4)
    standalone = max(0.0, (messages - per_run * runs) / customers)
    sink = Sink(world.workspace_id, status_rows=status_rows)
    rng = random.Random(seed)
    first = now - timedelta(days=DAYS)
    gen = Generator(world, sink, rng, first=first, standalone_rate=standalone,
                    contact_budget=int(events * 0.9))  # fmt: skip
    left, report = runs, time.perf_counter()
    while left > 0:
        n = min(left, rng.randint(1, 7))
        gen.customer(n)
        left -= n
        if time.perf_counter() - report > 30:
            report = time.perf_counter()
            print(f"  ... {runs - left:,} runs, {world.ids.message:,} messages", flush=True)
    filler_events(world, sink, rng, max(0, events - world.ids.event), first)
    sink.flush(with_cells=True)
    sequences_reset()
    daily_rebuild(world.workspace_id)
    return world


def daily_rebuild(workspace_id: int) -> None:
    from analytics.rollups import daily_cells_rebuild
    from console.models import Workspace

    daily_cells_rebuild(Workspace.objects.get(pk=workspace_id))


def world_reopen() -> World:
    """The world a previous run loaded (``--reuse``): its workspace, analyst and id counters."""
    from django.contrib.auth import get_user_model

    from channels_app.models.consent import ConsentEntry
    from channels_app.models.outbox import Message
    from console.models import Customer, Event, Workspace
    from journeys.models import Journey, Run, Step

    workspace = Workspace.objects.get(slug="bench")
    specs = {spec[0]: spec for spec in JOURNEYS}
    journeys = [
        (j.pk, dict(j.versions.values_list("number", "id")), specs[j.name])
        for j in Journey.objects.filter(workspace=workspace).order_by("pk")
    ]

    def last(model) -> int:
        return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    ids = Ids(last(Customer), last(Run), last(Step), last(Message), last(Event),
              last(ConsentEntry))  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    tz = ZoneInfo(workspace.timezone)
    user = get_user_model().objects.get(username="bench-analyst")
    return World(workspace.pk, journeys, user, now, now.astimezone(tz).date(), ids,
                 journeys[0][0], [1, 2])  # fmt: skip


def loaded_cells_verify(workspace_id: int) -> int:
    """The cells the loader wrote equal what ``rollups_rebuild`` computes from the rows it wrote
    (needs the status rows: ``--verify``). Returns the cells compared; exits on a difference."""
    from analytics.models import RollupCell
    from analytics.rollups import rollups_rebuild
    from console.models import Workspace

    def cells() -> dict:
        rows = RollupCell.objects.filter(workspace_id=workspace_id).exclude(count=0, amount=0)
        return {
            (c.journey_id, c.version, c.node_id, c.channel, c.hour, c.metric, c.dim):
            (c.count, c.amount) for c in rows
        }  # fmt: skip

    loaded = cells()
    rollups_rebuild(Workspace.objects.get(pk=workspace_id))
    rebuilt = cells()
    if loaded != rebuilt:
        diff = sorted(set(loaded.items()) ^ set(rebuilt.items()), key=str)[:10]
        raise SystemExit(f"verify: the loader's cells differ from a rebuild, e.g. {diff}")
    return len(loaded)


def sequences_reset() -> None:
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    models = [m for m in apps.get_models() if m._meta.app_label in
              ("console", "journeys", "channels_app", "analytics")]  # fmt: skip
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def table_counts() -> dict[str, int]:
    from analytics.models import DailyCell, RollupCell, RunFact
    from channels_app.models.consent import ConsentEntry
    from channels_app.models.outbox import Message
    from console.models import Customer, Event
    from journeys.models import Run, Step

    models = {"customers": Customer, "runs": Run, "steps": Step, "messages": Message,
              "events": Event, "opt-outs": ConsentEntry, "run facts": RunFact,
              "rollup cells": RollupCell, "daily cells": DailyCell}  # fmt: skip
    return {name: model.objects.count() for name, model in models.items()}


def absorb_measure(world: World, *, runs: int, seed: int, profile: str = "") -> dict:
    """Rows/s the incremental rollup job folds in: a fresh slice of runs (new customers, entered
    in the last two days, with status rows as the outbox writes them) on top of the load. Runs
    after the requests were timed: on PostgreSQL the job also re-reads the last 200 ids below
    each watermark (ids committed out of order), which refolds a few bulk-loaded rows whose facts
    the loader did not keep, so those few count twice in the cells afterwards."""
    from analytics.models import Watermark
    from analytics.rollups import SOURCES, rollups_update

    for source, (model, _) in SOURCES.items():  # the bulk load counts as folded already
        last = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        Watermark.objects.update_or_create(source=source, defaults={"last_id": last})
    before = {name: model.objects.count() for name, (model, _) in SOURCES.items()}
    sink = Sink(world.workspace_id, status_rows=True)
    world.ids.message = max(world.ids.message, before["message"])
    gen = Generator(world, sink, random.Random(seed), first=world.now - timedelta(days=2),
                    standalone_rate=0.5, contact_budget=runs * 10)  # fmt: skip
    left = runs
    while left > 0:
        n = min(left, 2)
        gen.customer(n)
        left -= n
    sink.flush(with_cells=False)
    sequences_reset()
    added = {name: model.objects.count() - before[name] for name, (model, _) in SOURCES.items()}
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    read = rollups_update()
    seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    total = sum(added.values())
    return {
        "runs": runs, "source_rows": total, "rows_read": read, "added": added,
        "seconds": round(seconds, 2), "rows_per_s": round(total / seconds, 1),
        "runs_per_s": round(runs / seconds, 1), "steps_per_s": round(added["step"] / seconds, 1),
    }  # fmt: skip


def _imports() -> None:
    """Django-dependent names, bound after django_setup."""
    global RunRow, MessageRow, ContactRow, OptOutRow, optouts_by_run, run_contrib
    global message_contrib, failure_contrib, episodes_contrib, optout_contrib
    from analytics.cells import (
        episodes_contrib,
        failure_contrib,
        message_contrib,
        optout_contrib,
        run_contrib,
    )
    from analytics.metrics import ContactRow, MessageRow, RunRow
    from analytics.optouts import OptOutRow, optouts_by_run


def requests_of(journey_id: int, versions: list[int], today) -> dict[str, tuple[str, dict]]:
    """name -> (url, extra headers) of every dashboard data request timed."""
    from datetime import timedelta

    week = f"from={(today - timedelta(days=6)).isoformat()}&to={today.isoformat()}"
    j = f"/analytics/journeys/{journey_id}/"
    htmx = {"HTTP_HX_REQUEST": "true"}
    out = {
        "journey: page (30 days)": (j, {}),
        "journey: live refresh (htmx body)": (j, htmx),
        f"journey: version {versions[-1]} filter": (f"{j}?version={versions[-1]}", htmx),
        "journey: last 7 days": (f"{j}?{week}", htmx),
    }
    for table in ("rates", "funnel", "mix", "cost", "versions", "arms"):
        out[f"journey: CSV {table}"] = (f"{j}?format=csv&table={table}", {})
    for metric in ("completed", "escalated", "optout"):
        out[f"journey: drill-down {metric}"] = (f"{j}customers/?metric={metric}", {})
    out["overview: page"] = ("/analytics/", {})
    out["overview: live refresh"] = ("/analytics/", htmx)
    out["channels: page (30 days)"] = ("/analytics/channels/", {})
    out["channels: CSV rates"] = ("/analytics/channels/?format=csv&table=rates", {})
    return out


def measure_requests(user, cases: dict, repeats: int) -> dict:
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    figures = {}
    for name, (url, headers) in cases.items():
        response = client.get(url, **headers)  # warm caches and check it answers
        if response.status_code != 200:
            raise SystemExit(f"{name}: {url} answered {response.status_code}")

        def get(url=url, headers=headers):
            client.get(url, **headers)

        figures[name] = timed(get, repeats)
        f = figures[name]
        print(f"{name:<40} {f['median_ms']:>10.1f} {f['p95_ms']:>9.1f} {f['max_ms']:>9.1f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--database", default="sqlite", help="sqlite or a postgres:// URL")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--absorb-runs", type=int, default=500, help="runs in the slice the rollup job absorbs"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", default="", help="cProfile the rollup job into this file")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database a previous run loaded"
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="small sizes: also write status rows and check the loaded cells equal a rebuild",
    )
    args = parser.parse_args()
    if args.reuse:
        from django.core.management import call_command

        django_connect(args.database)
        call_command("migrate", verbosity=0)
    else:
        django_setup(args.database)

    from django.db import connection
    from django.urls import get_resolver

    _imports()
    get_resolver().resolve("/analytics/")  # import every view now, not after a long load

    began = time.perf_counter()
    if args.reuse:
        world = world_reopen()
        from analytics.models import DailyCell

        if not DailyCell.objects.filter(workspace_id=world.workspace_id).exists():
            daily_rebuild(world.workspace_id)
    else:
        world = world_load(
            runs=args.runs, messages=args.messages, events=args.events, seed=args.seed,
            status_rows=args.verify,
        )  # fmt: skip
        if args.verify:
            compared = loaded_cells_verify(world.workspace_id)
            print(f"verify: the {compared:,} loaded cells equal rollups_rebuild's")
        with connection.cursor() as cursor:  # what autovacuum / the optimizer's stats would do
            cursor.execute("ANALYZE")
    load_s = time.perf_counter() - began
    counts = table_counts()
    print(f"loaded in {load_s:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    print(f"{'request':<40} {'median ms':>10} {'p95 ms':>9} {'max ms':>9}")
    cases = requests_of(world.journey_id, world.versions, world.today)
    figures = {"load_seconds": round(load_s, 1), "rows": counts}
    figures["requests"] = measure_requests(world.user, cases, args.repeats)
    worst = max(figures["requests"].items(), key=lambda kv: kv[1]["p95_ms"])
    print(f"slowest p95: {worst[0]} {worst[1]['p95_ms']:.1f} ms (goal < 300 ms)")

    absorb = absorb_measure(world, runs=args.absorb_runs, seed=args.seed + 1, profile=args.profile)
    figures["absorb"] = absorb
    print(
        f"rollup job: {absorb['source_rows']:,} source rows ({absorb['runs']:,} runs) folded in "
        f"{absorb['seconds']:.1f} s = {absorb['rows_per_s']:,.0f} rows/s, "
        f"{absorb['runs_per_s']:,.0f} runs/s, {absorb['steps_per_s']:,.0f} steps/s"
    )
    figures["peak_rss_mb"] = peak_rss_mb()
    print(f"results: {results_write('dashboards', vars(args), figures)}")


if __name__ == "__main__":
    main()
