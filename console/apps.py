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

        post_migrate.connect(_sync_roles, sender=self)
