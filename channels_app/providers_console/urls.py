from django.urls import path

from channels_app.providers_console import views

urlpatterns = [
    path("channels/providers/", views.providers, name="channels_providers"),
    path("channels/providers/save/", views.provider_save, name="channels_provider_save"),
    path("channels/providers/routes/", views.provider_route, name="channels_provider_route"),
    path("channels/providers/simulator/", views.simulator_save, name="channels_simulator_save"),
    path(
        "channels/providers/<int:account_id>/test/",
        views.provider_test,
        name="channels_provider_test",
    ),
    path("channels/ivr/", views.ivr_menus, name="channels_ivr"),
]
