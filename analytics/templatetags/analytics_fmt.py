"""Formatting filters of the dashboards: rates as percentages, seconds as durations."""

from django import template

from analytics.exports import pct as _pct
from analytics.exports import secs as _secs

register = template.Library()


@register.filter
def pct(value) -> str:
    """A Ratio or a float in [0, 1] as "12.3%", or an em dash when undefined."""
    rate = getattr(value, "rate", value)
    return _pct(rate if isinstance(rate, int | float) else None)


@register.filter
def duration(seconds) -> str:
    return _secs(seconds)


@register.filter
def total(mapping) -> int:
    return sum(mapping.values()) if mapping else 0
