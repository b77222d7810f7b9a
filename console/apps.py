from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    from console.roles import roles_sync

    roles_sync()


def _gc_tune() -> None:
    """Collect garbage cycles less often (settings.GC_THRESHOLDS), and move what start-up
    loaded (modules, settings, URL patterns) out of the collector's sight for good: with the
    defaults a worker spent a tenth of its time re-scanning them."""
    import gc

    from django.conf import settings

    gc.set_threshold(*settings.GC_THRESHOLDS)
    gc.freeze()


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        from console import signals, timeline  # noqa: F401  (register receivers and sources)
        from console.lookups import lookups_register
        from console.schedules import schedules_after_migrate

        lookups_register()
        _gc_tune()
        post_migrate.connect(_sync_roles, sender=self)
        # Sent once per migrate for this app, after every migration of the run has been applied.
        post_migrate.connect(schedules_after_migrate, sender=self, dispatch_uid="schedules")
