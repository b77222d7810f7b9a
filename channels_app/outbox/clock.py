"""Workspaces whose journeys run on an accelerated clock (the demo sandbox).

A message's due time and its policy re-check are in the time of the journey that asked for it, so
the outbox must read that workspace's clock, not the wall clock. The journeys app owns clocks and
registers a source here at start-up; channels_app never imports journeys.
"""

from collections.abc import Callable
from datetime import datetime

from django.db.models import Q

_source: Callable[[], dict[int, datetime]] | None = None


def outbox_clocks_register(source: Callable[[], dict[int, datetime]]) -> None:
    """`source()` answers {workspace id: its now} for workspaces not on real time."""
    global _source
    _source = source


def workspace_nows() -> dict[int, datetime]:
    return _source() if _source is not None else {}


def workspace_now(workspace_id: int, real_now: datetime) -> datetime:
    return workspace_nows().get(workspace_id, real_now)


def due_q(real_now: datetime) -> Q:
    """Pending rows whose due time has come, each in its own workspace's time."""
    condition = Q(due_at__lte=real_now)
    for workspace_id, now in workspace_nows().items():
        condition |= Q(workspace_id=workspace_id, due_at__lte=now)
    return condition
