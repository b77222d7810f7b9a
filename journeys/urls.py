from django.urls import include, path

from journeys import views, views_move

urlpatterns = [
    path("", include("journeys.builder.urls")),  # the builder (before journey_control)
    path("journeys/", views.journey_list, name="journeys"),
    path("journeys/settings/", views.engine_settings_edit, name="journeys_settings"),
    path("journeys/gallery/<slug:slug>/", views.gallery_use, name="journeys_gallery_use"),
    path("journeys/<int:journey_id>/", views.journey_detail, name="journey_detail"),
    path(
        "journeys/<int:journey_id>/publish-move/",
        views_move.journey_publish_move,
        name="journey_publish_move",
    ),
    path("journeys/<int:journey_id>/<str:action>/", views.journey_control, name="journey_control"),
    path("journeys/runs/<int:run_id>/", views.run_detail, name="journey_run"),
]
