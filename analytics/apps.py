from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from analytics.forecasts import forecasts_for
        from catalog.selectors.inventory import register_forecast_reader

        # The inventory monitor (catalog) shows our forecasts without importing us.
        register_forecast_reader(forecasts_for)
