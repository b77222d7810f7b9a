from django.apps import AppConfig


class NaiveAppConfig(AppConfig):
    name = "naive_app"
    label = "naive_app"
    default_auto_field = "django.db.models.BigAutoField"
