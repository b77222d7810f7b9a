from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from channels_app.outbox.clock import outbox_clocks_register
        from journeys import hooks  # noqa: F401
        from journeys.clock import accelerated_nows

        # Messages a journey queues fall due in that journey's (possibly accelerated) time.
        outbox_clocks_register(accelerated_nows)
