from django.urls import path

from channels_app.tmpl import views

urlpatterns = [
    path("templates/", views.templates_home, name="templates_home"),
    path("templates/new/", views.template_new, name="template_new"),
    path("templates/settings/", views.template_settings, name="template_settings"),
    path("templates/customers/", views.template_customer_search, name="template_customer_search"),
    path("templates/<int:template_id>/", views.template_detail, name="template_detail"),
    path("templates/<int:template_id>/edit/", views.template_edit, name="template_edit"),
    path("templates/<int:template_id>/check/", views.template_check, name="template_check"),
    path(
        "templates/<int:template_id>/preview/", views.template_preview_view, name="template_preview"
    ),
    path(
        "templates/<int:template_id>/versions/<int:version_id>/status/",
        views.template_status,
        name="template_status",
    ),
]
