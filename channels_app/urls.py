from django.urls import include, path

urlpatterns = [
    path("", include("channels_app.tmpl.urls")),
    path("", include("channels_app.consent.urls")),
    path("", include("channels_app.policies.urls")),
    path("", include("channels_app.webhooks.urls")),
    path("", include("channels_app.outbox.urls")),
    path("", include("channels_app.phone.urls")),
    path("", include("channels_app.providers_console.urls")),
]
