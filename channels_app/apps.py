from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    label = "channels_app"
    verbose_name = "Channels"

    def ready(self) -> None:
        # Each capability registers its timeline sources, customer panels and demo data here.
        from channels_app.consent import hooks as consent_hooks  # noqa: F401
        from channels_app.ivr import hooks as ivr_hooks  # noqa: F401
        from channels_app.outbox import hooks as outbox_hooks  # noqa: F401
        from channels_app.policies import hooks as policies_hooks  # noqa: F401
        from channels_app.tmpl import hooks as tmpl_hooks  # noqa: F401
