from django.urls import path

from channels_app.policies import views

urlpatterns = [
    path("channels/policies/", views.policies, name="policies"),
    path("channels/policies/check/", views.policy_check, name="policy_check"),
]
