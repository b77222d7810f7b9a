"""Local-time arithmetic for waits and triggers (customer's zone; aware datetimes in, out)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator

DEFAULT_TZ = "Asia/Kolkata"
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def _check_hhmm(value: str) -> str:
    if not _HHMM.fullmatch(value):
        raise ValueError("use a 24-hour local time written HH:MM, e.g. 09:00")
    return value


# Kept as text so that a journey's JSON survives export and import unchanged ("09:00").
LocalTime = Annotated[str, AfterValidator(_check_hhmm)]


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; unknown names fall back to Asia/Kolkata (the default)."""
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(UTC).astimezone(zone(tz))


def at_local(day: date, at: time, tz: str) -> datetime:
    """``day`` ``at`` in zone ``tz`` as an aware UTC datetime (a wall time skipped by DST maps to
    the instant zoneinfo gives it, i.e. just after the gap)."""
    return datetime.combine(day, at, tzinfo=zone(tz)).astimezone(UTC)


def next_time_of_day(now: datetime, at: str, tz: str) -> datetime:
    """The next moment at or after ``now`` whose local wall time is ``at``."""
    today = local(now, tz).date()
    for offset in range(3):
        candidate = at_local(today + timedelta(days=offset), hhmm(at), tz)
        if candidate >= now:
            return candidate
    raise AssertionError("a time of day recurs within three days")


def inside_window(now: datetime, start: str, end: str, tz: str) -> bool:
    """True when the local time is in [start, end); start > end wraps midnight; equal = all day."""
    wall = local(now, tz).time().replace(second=0, microsecond=0)
    begin, finish = hhmm(start), hhmm(end)
    if begin == finish:
        return True
    if begin < finish:
        return begin <= wall < finish
    return wall >= begin or wall < finish


def window_open_at(now: datetime, start: str, end: str, tz: str) -> datetime:
    """``now`` when inside the window, else the next local ``start``."""
    if inside_window(now, start, end, tz):
        return now
    return next_time_of_day(now, start, tz)


def as_date(value: Any, tz: str) -> date | None:
    """A date from a date, datetime or ISO string (datetimes read in the customer's zone)."""
    if isinstance(value, datetime):
        return local(value, tz).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return as_date(datetime.fromisoformat(value), tz)
        except ValueError:
            return None
    return None


def date_moment(value: Any, *, offset_days: int, at: str, tz: str) -> datetime | None:
    """The moment ``offset_days`` from the date in ``value`` at local ``at`` (None if no date)."""
    day = as_date(value, tz)
    if day is None:
        return None
    return at_local(day + timedelta(days=offset_days), hhmm(at), tz)


def duration_text(delta: timedelta) -> str:
    """Short human duration: 24h, 3 days, 90m, 1h30m."""
    minutes = int(delta.total_seconds() // 60)
    if minutes and minutes % 1440 == 0 and minutes >= 4320:
        return f"{minutes // 1440} days"
    if minutes % 60 == 0 and minutes:
        return f"{minutes // 60}h"
    if minutes > 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes}m"


def clock_text(moment: datetime, tz: str) -> str:
    """The local wall time as HH:MM, with the date when it is not today."""
    return local(moment, tz).strftime("%H:%M")
