from django.apps import AppConfig


class BuilderConfig(AppConfig):
    name = "journeys.builder"
    label = "journeys_builder"
    verbose_name = "Journey builder"
    default_auto_field = "django.db.models.BigAutoField"
