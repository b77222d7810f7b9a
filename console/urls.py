from django.contrib.auth.views import LogoutView
from django.urls import include, path

from channels_app.providers_console import views as channels_views
from console import settings_views, views
from console.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("search/", views.quick_search, name="quick_search"),
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer_detail"),
    path(
        "customers/<int:customer_id>/attributes/",
        views.customer_attributes_edit,
        name="customer_attributes_edit",
    ),
    path("settings/", settings_views.settings_home, name="settings"),
    path("settings/api-keys/", settings_views.api_keys, name="api_keys"),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        settings_views.api_key_revoke,
        name="api_key_revoke",
    ),
    path("settings/members/", settings_views.members, name="members"),
    path("settings/audit/", settings_views.audit_log, name="audit_log"),
    path("", include("journeys.urls")),
    path("", include("analytics.urls")),
    path("channels/", channels_views.channels_home, name="channels_home"),
    path("api/v1/", api.urls),
    path("", include("channels_app.urls")),
]
