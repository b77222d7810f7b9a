"""Opt-outs attributed to journeys (pure: rows in, numbers out; formula in docs/metrics.md).

A customer's withdrawal on a channel is attributed to the last message that reached for them on
that channel before it (last touch): the message that left the outbox (sent time, else created
time) at or before the withdrawal and at most ``OPTOUT_WINDOW`` earlier. The withdrawal then
belongs to that message's run, node and journey; when the last touch was not a journey's message
(an OTP, a broadcast) no journey is blamed. A journey's opt-out rate is over runs, so a run
counts once however many channels its customer withdrew from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from analytics.metrics import EVERYTHING, MessageRow, Ratio, RunRow, Window, runs_in

OPTOUT_WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class OptOutRow:
    """A consent withdrawal (a ``ConsentEntry`` with status ``withdrawn``)."""

    entry_id: int
    customer_id: int
    channel: str
    at: datetime


def optout_message(
    optout: OptOutRow, messages: Iterable[MessageRow], window: timedelta = OPTOUT_WINDOW
) -> MessageRow | None:
    """The message ``optout`` is attributed to (the last touch on its channel), or None."""
    candidates = [
        m
        for m in messages
        if m.customer_id == optout.customer_id
        and m.channel == optout.channel
        and "attempted" in m.reached
        and optout.at - window <= m.touched_at <= optout.at
    ]
    return max(candidates, key=lambda m: (m.touched_at, m.message_id), default=None)


def optouts_by_run(
    optouts: Iterable[OptOutRow],
    messages: Iterable[MessageRow],
    window: timedelta = OPTOUT_WINDOW,
) -> dict[int, list[tuple[OptOutRow, MessageRow]]]:
    """{run id: [(opt-out, the run's message it is attributed to)]}, oldest opt-out first."""
    messages = list(messages)
    out: dict[int, list[tuple[OptOutRow, MessageRow]]] = defaultdict(list)
    for optout in sorted(optouts, key=lambda o: (o.at, o.entry_id)):
        message = optout_message(optout, messages, window)
        if message is not None and message.run_id is not None:
            out[message.run_id].append((optout, message))
    return dict(out)


def sent_any(messages: Iterable[MessageRow]) -> bool:
    """The run sent something: one of its messages left the outbox, on any channel."""
    return any("attempted" in m.reached for m in messages)


def journey_opt_out_rate(
    runs: Iterable[RunRow],
    messages: Iterable[MessageRow],
    optouts: Iterable[OptOutRow],
    window: Window = EVERYTHING,
    attribution: timedelta = OPTOUT_WINDOW,
) -> Ratio:
    """Treatment runs with an opt-out attributed to one of their messages / treatment runs with
    a send, for runs that entered in ``window`` (holdout runs send nothing)."""
    messages = list(messages)
    blamed = optouts_by_run(optouts, messages, attribution)
    per_run: dict[int, list[MessageRow]] = defaultdict(list)
    for m in messages:
        if m.run_id is not None:
            per_run[m.run_id].append(m)
    hits = total = 0
    for run in runs_in(runs, window):
        if run.holdout or not sent_any(per_run.get(run.run_id, [])):
            continue
        total += 1
        hits += run.run_id in blamed
    return Ratio(hits, total)
