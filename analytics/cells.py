"""What each source item contributes to the rollup cells (pure: rows in, cells out).

A cell key is (journey_id, version, node_id, channel, hour, metric, dim); a contribution is
(count, amount). Runs are counted in the hour they entered (a cohort: a run that completes days
later still counts where it entered), messages in the hour they were created, contact episodes in
the hour they started, opt-outs in the hour they were recorded. The metric names are listed in
docs/metrics.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from analytics.metrics import (
    ContactRow,
    Episode,
    MessageRow,
    RunRow,
    completion_seconds,
    contact_episodes,
    escalated,
    first_digital_touch,
    run_cost,
    ttc_bucket,
)
from analytics.optouts import OptOutRow, sent_any

CellKey = tuple[int, int, str, str, str, str, str]
Contrib = dict[CellKey, list[int]]
MONEY_SCALE = 10_000  # amounts of money are stored in 1/10,000 rupee (Message.cost has 4 places)
MESSAGE_STATES = ("created", "attempted", "delivered", "read", "replied", "failed", "blocked")
BREAKDOWNS = ("provider", "template", "lang")


def hour_of(at: datetime) -> str:
    """The UTC hour an instant falls in (IST is +05:30: local hours would split UTC ones)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.replace(minute=0, second=0, microsecond=0).isoformat()


def money(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * MONEY_SCALE)


def _add(out: Contrib, key: CellKey, count: int = 1, amount: int = 0) -> None:
    cell = out.setdefault(key, [0, 0])
    cell[0] += count
    cell[1] += amount


def run_contrib(
    run: RunRow,
    messages: Sequence[MessageRow],
    contacts: Sequence[ContactRow],
    optouts: Sequence[tuple[OptOutRow, MessageRow]] = (),
) -> tuple[Contrib, dict]:
    """Cells of one run, and its flags (completed, digital, escalated, opted_out). ``optouts`` are the
    opt-outs attributed to this run's messages (``analytics.optouts.optouts_by_run``)."""
    out: Contrib = {}
    hour, group = hour_of(run.entered_at), run.group
    base = (run.journey_id, run.version)

    def cell(metric: str, dim: str = "", node: str = "", count: int = 1, amount: int = 0) -> None:
        _add(out, (*base, node, "", hour, metric, dim), count, amount)

    cell("run.enrolled", group)
    if run.status in ("active", "waiting"):
        cell("run.open", group)
    else:
        cell("run.ended", run.status)
    completed = run.reached_goal
    if completed:
        seconds = completion_seconds(run)
        cell("run.completed", group, amount=int(seconds or 0))
        if seconds is not None and not run.holdout:
            cell("run.ttc", str(ttc_bucket(seconds)))
    digital = first_digital_touch(messages) is not None
    esc = digital and escalated(run, messages, contacts)
    if digital:
        cell("run.digital", group)
    if esc:
        cell("run.escalated", group)
    cost = money(run_cost(messages))
    if cost:
        cell("run.cost", group, amount=cost)
    opted_out = bool(optouts) and sent_any(messages)
    if sent_any(messages):
        cell("run.sent", group)
    if opted_out:  # once per run, at the node and channel of its first opt-out
        _, message = optouts[0]
        _add(out, (*base, message.node_id, message.channel, hour, "run.optout", group))
    for node in dict.fromkeys(run.nodes):
        cell("node.reached", group, node=node)
    if run.status in ("exited", "failed", "cancelled") and not completed:
        cell("node.ended", run.status, node=run.last_node)
    if not run.holdout:
        for split, port in dict.fromkeys(run.arms):
            cell("arm.enrolled", port, node=split)
            if completed:
                cell("arm.completed", port, node=split)
    return out, {
        "completed": completed,
        "digital": digital,
        "escalated": esc,
        "opted_out": opted_out,
    }


def message_contrib(m: MessageRow) -> Contrib:
    """Cells of one message: each state it reached (overall and per provider, template and
    language), its cost, latencies, and the policy reason when blocked."""
    out: Contrib = {}
    base = (m.journey_id, m.version, m.node_id, m.channel, hour_of(m.created_at))
    reached = m.reached | {"created"}
    dims = {"provider": m.provider, "template": m.template, "lang": m.language}
    for state in MESSAGE_STATES:
        if state not in reached or state == "blocked":
            continue
        _add(out, (*base, f"msg.{state}", ""))
        for name in BREAKDOWNS:
            if dims[name]:
                _add(out, (*base, f"msg.{state}", f"{name}:{dims[name]}"))
    if "blocked" in m.statuses:
        _add(out, (*base, "msg.blocked", m.decision_reason or "unspecified"))
    cost = money(m.cost)
    if cost:
        _add(out, (*base, "msg.cost", ""), 1, cost)
        if m.provider:
            _add(out, (*base, "msg.cost", f"provider:{m.provider}"), 1, cost)
    for state, at in (("delivered", m.delivered_at), ("read", m.read_at)):
        if at is not None and m.sent_at is not None and at >= m.sent_at:
            seconds = int((at - m.sent_at).total_seconds())
            _add(out, (*base, f"lat.{state}", ""), 1, seconds)
            if m.provider:
                _add(out, (*base, f"lat.{state}", f"provider:{m.provider}"), 1, seconds)
    return out


def failure_contrib(m: MessageRow, reason: str) -> Contrib:
    """A failed message's reason (error code or text), for the overview's top reasons."""
    if "failed" not in m.reached or not reason:
        return {}
    base = (m.journey_id, m.version, m.node_id, m.channel, hour_of(m.created_at))
    return {(*base, "msg.failed_reason", reason[:120]): [1, 0]}


def episodes_contrib(contacts: Iterable[ContactRow], window: timedelta) -> Contrib:
    """Cells of one customer's contact episodes (about one key, or several)."""
    out: Contrib = {}
    for episode in contact_episodes(contacts, window):
        _episode_cells(out, episode)
    return out


def _episode_cells(out: Contrib, e: Episode) -> None:
    base = (e.journey_id, e.version, "", e.channels[0] if e.channels else "", hour_of(e.start))
    _add(out, (*base, "contact.episode", e.group), 1, e.contacts)
    if e.repeat:
        _add(out, (*base, "contact.repeat", e.group))
        if len(set(e.channels)) > 1:
            _add(out, (*base, "contact.cross_channel", e.group))


def optout_contrib(channel: str, purpose: str, at: datetime) -> Contrib:
    return {(0, 0, "", channel, hour_of(at), "consent.withdrawn", purpose): [1, 0]}


def contrib_merge(parts: Iterable[Contrib]) -> Contrib:
    out: Contrib = {}
    for part in parts:
        contrib_add(out, part)
    return out


def contrib_add(into: Contrib, part: Contrib) -> None:
    """Add ``part`` to ``into`` in place."""
    for key, (count, amount) in part.items():
        _add(into, key, count, amount)


def contrib_dump(contrib: Contrib) -> list[list]:
    return [[*key, count, amount] for key, (count, amount) in sorted(contrib.items())]


def contrib_load(rows: list[list] | None) -> Contrib:
    return {tuple(row[:7]): [row[7], row[8]] for row in rows or []}  # type: ignore[misc]


def contrib_diff(old: Contrib, new: Contrib) -> Contrib:
    """new - old, per key, without zero entries."""
    out: dict[CellKey, list[int]] = defaultdict(lambda: [0, 0])
    for key, (count, amount) in new.items():
        out[key][0] += count
        out[key][1] += amount
    for key, (count, amount) in old.items():
        out[key][0] -= count
        out[key][1] -= amount
    return {k: v for k, v in out.items() if v != [0, 0]}
