from django.urls import path

from journeys.builder import views, views_live, views_more

urlpatterns = [
    path("journeys/builder/gallery/", views_more.builder_gallery, name="builder_gallery"),
    path(
        "journeys/builder/gallery/<slug:slug>/",
        views_more.builder_gallery_use,
        name="builder_gallery_use",
    ),
    path("journeys/builder/new/", views_more.builder_new, name="builder_new"),
    path("journeys/builder/settings/", views_more.builder_settings, name="builder_settings"),
    path("journeys/<int:journey_id>/builder/", views.builder_page, name="builder_page"),
    path("journeys/<int:journey_id>/builder/save/", views.builder_save, name="builder_save"),
    path(
        "journeys/<int:journey_id>/builder/nodes/<str:node_id>/",
        views.builder_node,
        name="builder_node",
    ),
    path(
        "journeys/<int:journey_id>/builder/preview/", views.builder_preview, name="builder_preview"
    ),
    path(
        "journeys/<int:journey_id>/builder/publish/", views.builder_publish, name="builder_publish"
    ),
    path(
        "journeys/<int:journey_id>/builder/request/", views.builder_request, name="builder_request"
    ),
    path(
        "journeys/<int:journey_id>/builder/requests/<int:request_id>/",
        views.builder_decide,
        name="builder_decide",
    ),
    path(
        "journeys/<int:journey_id>/builder/control/<str:action>/",
        views.builder_control,
        name="builder_control",
    ),
    path(
        "journeys/<int:journey_id>/builder/duplicate/",
        views.builder_duplicate,
        name="builder_duplicate",
    ),
    path(
        "journeys/<int:journey_id>/builder/versions/",
        views_more.builder_versions,
        name="builder_versions",
    ),
    path(
        "journeys/<int:journey_id>/builder/versions/<int:number>/",
        views_more.builder_versions,
        name="builder_version_diff",
    ),
    path(
        "journeys/<int:journey_id>/builder/test-run/",
        views_more.builder_test_run,
        name="builder_test_run",
    ),
    path("journeys/<int:journey_id>/builder/live/", views_live.builder_live, name="builder_live"),
    path(
        "journeys/<int:journey_id>/builder/live/nodes/<str:node_id>/",
        views_live.builder_waiting,
        name="builder_waiting",
    ),
    path(
        "journeys/<int:journey_id>/builder/forecast/",
        views_live.builder_forecast,
        name="builder_forecast",
    ),
    path(
        "journeys/<int:journey_id>/builder/journey-settings/",
        views_live.builder_journey_settings,
        name="builder_journey_settings",
    ),
]
