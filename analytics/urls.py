from django.urls import path

from analytics import views

urlpatterns = [
    path("analytics/", views.analytics_home, name="analytics_home"),
    path("analytics/channels/", views.channel_dashboard, name="analytics_channels"),
    path("analytics/journeys/<int:journey_id>/", views.journey_dashboard, name="analytics_journey"),
    path(
        "analytics/journeys/<int:journey_id>/customers/",
        views.journey_customers,
        name="analytics_journey_customers",
    ),
    path("analytics/refresh/", views.rollups_refresh, name="analytics_refresh"),
    path("analytics/plotly-<str:version>.min.js", views.plotly_js, name="analytics_plotly_js"),
]
