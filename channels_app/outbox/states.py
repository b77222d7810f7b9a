"""The message status machine (pure): statuses only move forward, terminal ones never move.

queued/deferred -> sending -> (unknown) -> sent -> delivered -> read -> replied;
failed / undelivered / blocked are terminal. A later status implies the earlier ones happened,
so reaching ``read`` also reports ``delivered`` when that webhook never came (a late one then
reports nothing): each status is reported once, when the message first reaches or passes it.
"""

from __future__ import annotations

from dataclasses import dataclass

RANK = {
    "queued": 0,
    "deferred": 0,
    "sending": 1,
    "unknown": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "replied": 5,
}
TERMINAL = ("failed", "undelivered", "blocked")
# Statuses that become an outcome event ``message.<status>``.
EVENT_STATUSES = ("sent", "delivered", "read", "replied", "failed", "undelivered", "blocked")
# Failure reported after the message had reached the handset is noise, not a new outcome.
_FAILABLE_UNTIL = RANK["sent"]


@dataclass(frozen=True)
class Transition:
    new_status: str | None  # None: the row keeps its status
    events: tuple[str, ...]  # statuses to report as events (implied ones first)


def transition(current: str, reported: str, channel: str) -> Transition:
    """What reporting ``reported`` does to a message in ``current`` on ``channel``."""
    if current in TERMINAL:
        return Transition(None, ())
    if reported in TERMINAL:
        if RANK.get(current, 0) > _FAILABLE_UNTIL:
            return Transition(None, ())
        return Transition(reported, (reported,))
    if reported not in RANK:
        raise ValueError(f"status: {reported!r} is not a message status")
    rank = RANK.get(current, 0)
    if RANK[reported] > rank:
        # Only the statuses passed now: those up to ``current`` were reported when it was
        # reached (a late ``delivered`` after ``read`` was reported with ``read``).
        return Transition(reported, tuple(s for s in _implied(reported, channel)
                                          if RANK.get(s, 0) > rank))  # fmt: skip
    return Transition(None, ())  # late or duplicate: no move, nothing new to report


def _implied(reported: str, channel: str) -> tuple[str, ...]:
    chain = ["sent", "delivered"] + (["read"] if channel == "whatsapp" else [])
    if reported not in chain and reported != "replied":
        return (reported,) if reported in EVENT_STATUSES else ()
    earlier = [s for s in chain if RANK[s] < RANK[reported]]
    return (*earlier, reported)
