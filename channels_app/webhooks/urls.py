from django.urls import path, re_path

from channels_app.webhooks import views

urlpatterns = [
    re_path(
        r"^webhooks/twilio/(?P<account_id>\d+)/(?P<endpoint>status|inbound|voice/inbound|voice/gather)/$",
        views.twilio_webhook,
        name="webhook_twilio",
    ),
    path("webhooks/meta/<int:account_id>/", views.meta_webhook, name="webhook_meta"),
    re_path(
        r"^webhooks/exotel/(?P<account_id>\d+)/(?P<endpoint>sms-status|call-status|inbound-sms|passthru)/$",
        views.exotel_webhook,
        name="webhook_exotel",
    ),
    path(
        "webhooks/simulator/<int:workspace_id>/",
        views.simulator_webhook,
        name="webhook_simulator",
    ),
]
