"""The engine's one clock. Journey time is real time unless a workspace runs accelerated (the demo),
or a test freezes it.

    clock_now(workspace)            # journey time now for this workspace
    clock_at(workspace, real_dt)    # journey time of a real instant (event arrival)
    with clock_frozen(dt) as clock: # tests: every workspace sees ``clock.now``; clock.advance(...)

An accelerated workspace maps real time linearly: journey = anchor_journey + (real - anchor_real)
* speed. Changing the speed re-anchors at the current journey time, so journey time never jumps
back. Stored times (wake_at, steps) are journey times; the console shows them as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from console.models import Workspace


@dataclass
class FrozenClock:
    now: datetime

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        self.now = self.now + (delta or timedelta(**parts))
        return self.now


_frozen: FrozenClock | None = None


@contextmanager
def clock_frozen(at: datetime) -> Iterator[FrozenClock]:
    """Freeze the engine's clock (all workspaces, all threads of this process) at ``at``."""
    global _frozen
    previous, _frozen = _frozen, FrozenClock(at)
    try:
        yield _frozen
    finally:
        _frozen = previous


def real_now() -> datetime:
    return _frozen.now if _frozen is not None else timezone.now()


@dataclass(frozen=True)
class Speed:
    factor: float = 1.0
    anchor_real: datetime | None = None
    anchor_journey: datetime | None = None

    @property
    def accelerated(self) -> bool:
        return self.factor != 1.0 and self.anchored

    @property
    def anchored(self) -> bool:
        # Anchors stay once set, so slowing back to real time never moves journey time back.
        return self.anchor_real is not None and self.anchor_journey is not None

    def at(self, real: datetime) -> datetime:
        if not self.anchored:
            return real
        return self.anchor_journey + (real - self.anchor_real) * self.factor

    def real_of(self, journey: datetime) -> datetime:
        """The real instant at which journey time reaches ``journey``."""
        if not self.anchored:
            return journey
        return self.anchor_real + (journey - self.anchor_journey) / self.factor


def clock_speed(workspace: Workspace | int) -> Speed:
    from journeys.models import EngineSettings

    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    row = (
        EngineSettings.objects.filter(workspace_id=workspace_id)
        .values("clock_speed", "clock_anchor_real", "clock_anchor_journey")
        .first()
    )
    if row is None:
        return Speed()
    return Speed(row["clock_speed"], row["clock_anchor_real"], row["clock_anchor_journey"])


def clock_now(workspace: Workspace | int, speed: Speed | None = None) -> datetime:
    return (speed or clock_speed(workspace)).at(real_now())


def clock_at(workspace: Workspace | int, real: datetime, speed: Speed | None = None) -> datetime:
    return (speed or clock_speed(workspace)).at(real)


def clock_speed_set(*, workspace: Workspace, factor: float) -> Speed:
    """Run ``workspace`` at ``factor`` journey seconds per real second from now on."""
    from journeys.models import EngineSettings

    if not 1 <= factor <= 100_000:
        raise ValueError("clock speed: use 1 (real time) up to 100000")
    row, _ = EngineSettings.objects.get_or_create(workspace=workspace)
    current = Speed(row.clock_speed, row.clock_anchor_real, row.clock_anchor_journey)
    now = real_now()
    row.clock_anchor_journey = current.at(now)
    row.clock_anchor_real = now
    row.clock_speed = factor
    row.save(update_fields=["clock_speed", "clock_anchor_real", "clock_anchor_journey"])
    return Speed(factor, now, row.clock_anchor_journey)


def accelerated_nows() -> dict[int, datetime]:
    """{workspace id: journey now} for every workspace whose clock is not real time."""
    from journeys.models import EngineSettings

    rows = EngineSettings.objects.exclude(clock_speed=1).values(
        "workspace_id", "clock_speed", "clock_anchor_real", "clock_anchor_journey"
    )
    now = real_now()
    speeds = {
        r["workspace_id"]: Speed(
            r["clock_speed"], r["clock_anchor_real"], r["clock_anchor_journey"]
        )
        for r in rows
    }
    return {
        workspace_id: speed.at(now) for workspace_id, speed in speeds.items() if speed.accelerated
    }
