from django.urls import path

from channels_app.consent import import_views, views

urlpatterns = [
    path("consent/", views.consent_home, name="consent_home"),
    path("consent/imports/", import_views.imports_home, name="consent_imports"),
    path("consent/imports/<int:job_id>/", import_views.import_detail, name="consent_import_detail"),
    path(
        "consent/imports/<int:job_id>/apply/",
        import_views.import_apply,
        name="consent_import_apply",
    ),
    path(
        "consent/imports/sample/<slug:kind>.csv",
        import_views.import_sample,
        name="consent_import_sample",
    ),
    path("consent/customers/<int:customer_id>/", views.consent_panel, name="consent_panel"),
    path(
        "consent/customers/<int:customer_id>/change/", views.consent_change, name="consent_change"
    ),
    path(
        "consent/customers/<int:customer_id>/change/form/",
        views.consent_change_form,
        name="consent_change_form",
    ),
    path(
        "consent/customers/<int:customer_id>/preferences/",
        views.preferences_edit,
        name="consent_preferences_edit",
    ),
    path("consent/customers/<int:customer_id>/dnd/", views.dnd_edit, name="consent_dnd_edit"),
]
