"""Journey time for the rollups.

Runs, steps and a message's creation are stamped in journey time (``journeys.clock``); events,
provider status times, ``Message.sent_at`` and consent entries are stamped in real time. On a
workspace whose clock runs accelerated (the demo runs 600x) the two drift apart by days within an
hour, so the rollup job maps every real stamp to journey time before it compares or buckets it:
a contact then falls after the message that caused it, in the hour and window of the run it is
about. On real-time workspaces the map is the identity.

The map uses the workspace's current anchors (read once per chunk). A real instant from before
the last speed change is mapped with the new speed, so a rebuild after changing the speed can
move old contacts; docs/metrics.md lists this limit.
"""

from __future__ import annotations

from datetime import datetime

from journeys.clock import Speed, clock_speed

_speeds: dict[int, Speed] = {}


def clocks_forget() -> None:
    """Read the workspaces' clock speeds again (the job calls this at each chunk)."""
    _speeds.clear()


def journey_at(workspace_id: int, real: datetime | None) -> datetime | None:
    """The journey time of a real instant in this workspace (None stays None)."""
    if real is None:
        return None
    speed = _speeds.get(workspace_id)
    if speed is None:
        speed = _speeds[workspace_id] = clock_speed(workspace_id)
    return speed.at(real)
