"""django-q2 tasks of analytics: thin wrappers around the rollup job.

The schedule ``analytics: rollups`` runs every minute; each run keeps folding new rows for about
50 seconds, so the dashboards trail the engine by about a second without one task per change.
"""

from __future__ import annotations

SCHEDULES = [("analytics: rollups", "analytics.tasks.rollups_sweep_task", 1)]


def rollups_sweep_task() -> int:
    from analytics.rollups import rollups_sweep

    return rollups_sweep()


def rollups_update_task() -> int:
    """On demand (e.g. ``async_task("analytics.tasks.rollups_update_task")``)."""
    from analytics.rollups import rollups_update

    return rollups_update()


def schedules_ensure() -> int:
    """Create the periodic schedules that are missing (by name); returns how many were made."""
    from django_q.models import Schedule

    made = 0
    for name, func, minutes in SCHEDULES:
        _, created = Schedule.objects.get_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes,
                      "repeats": -1},
        )  # fmt: skip
        made += created
    return made
