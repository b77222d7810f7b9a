from django.urls import path

from channels_app.phone import views

urlpatterns = [
    path("channels/phone/", views.phone, name="channels_phone"),
    path("channels/phone/<int:customer_id>/act/", views.phone_action, name="channels_phone_act"),
]
