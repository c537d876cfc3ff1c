"""The insight pages under /admin/analytics/ (mounted before the admin site)."""

from django.urls import path

from analytics import dashboard_views, report_views, views

app_name = "analytics"

urlpatterns = [
    path("insights/levels/", views.levels_page, name="insight_levels"),
    path("insights/hours/", views.hours_page, name="insight_hours"),
    path("insights/growth/", views.growth_page, name="insight_growth"),
    path("compare/", dashboard_views.compare_page, name="compare"),
    path("retention/", dashboard_views.retention_page, name="retention"),
    path("reports/", report_views.reports_page, name="reports"),
    path("reports/<int:pk>/generate/", report_views.generate, name="report_generate"),
    path("reports/runs/<int:pk>/", report_views.run_page, name="report_run"),
    path(
        "reports/runs/<int:pk>/progress/",
        report_views.run_progress,
        name="report_progress",
    ),
    path(
        "reports/runs/<int:pk>/<str:kind>/",
        report_views.download,
        name="report_download",
    ),
]
