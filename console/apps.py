from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    from console.roles import roles_sync

    roles_sync()


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        from console import signals, timeline  # noqa: F401  (register receivers and sources)
        from console.lookups import lookups_register
        from console.schedules import schedules_after_migrate

        lookups_register()
        post_migrate.connect(_sync_roles, sender=self)
        # Sent once per migrate for this app, after every migration of the run has been applied.
        post_migrate.connect(schedules_after_migrate, sender=self, dispatch_uid="schedules")
