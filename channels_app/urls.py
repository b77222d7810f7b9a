from django.urls import include, path

urlpatterns = [
    path("", include("channels_app.tmpl.urls")),
    path("", include("channels_app.consent.urls")),
    path("", include("channels_app.policies.urls")),
]
