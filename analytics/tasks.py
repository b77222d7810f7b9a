"""django-q2 tasks of analytics: thin wrappers around the rollup job.

The schedule ``analytics: rollups`` runs every minute; each run keeps folding new rows for about
50 seconds, so the dashboards trail the engine by about a second without one task per change.
"""

from __future__ import annotations


def rollups_sweep_task() -> int:
    from analytics.rollups import rollups_sweep

    return rollups_sweep()


def rollups_update_task() -> int:
    """On demand (e.g. ``async_task("analytics.tasks.rollups_update_task")``)."""
    from analytics.rollups import rollups_update

    return rollups_update()
