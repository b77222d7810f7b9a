from django.urls import path

from channels_app.outbox import views

urlpatterns = [
    path("channels/messages/", views.messages_log, name="channels_messages"),
    path("channels/messages/<int:message_id>/", views.message_detail, name="channels_message"),
]
