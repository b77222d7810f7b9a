"""Start-up registrations of analytics (imported from AnalyticsConfig.ready): the periodic rollup
job. The live topics it publishes (``workspace:<id>``, ``journey:<id>``) are registered by console
and journeys."""

from console.schedules import schedule_register

schedule_register("analytics: rollups", "analytics.tasks.rollups_sweep_task", minutes=1)
