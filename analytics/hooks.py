"""Start-up registrations of analytics (imported from AnalyticsConfig.ready): the periodic
rollup schedule after migrate. The live topics it publishes (``workspace:<id>``, ``journey:<id>``)
are registered by console and journeys."""

from django.db.models.signals import post_migrate


def _schedules(sender, **kwargs) -> None:
    if getattr(sender, "name", "") != "analytics":
        return
    from analytics.tasks import schedules_ensure

    try:
        schedules_ensure()
    except Exception:  # django_q's tables may not exist yet in a partial migrate
        pass


post_migrate.connect(_schedules, dispatch_uid="analytics.schedules")
