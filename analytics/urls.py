"""The insight pages under /admin/analytics/ (mounted before the admin site)."""

from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("insights/levels/", views.levels_page, name="insight_levels"),
    path("insights/hours/", views.hours_page, name="insight_hours"),
    path("insights/growth/", views.growth_page, name="insight_growth"),
]
