from django.db import models
from django.utils.translation import gettext_lazy as _


class Insight(models.Model):
    """No table: where the permission of the insight pages lives (Django keeps
    permissions on models). The reports of the analytics issue reuse it."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("insight")
        verbose_name_plural = _("insights")
        permissions = [("view_insights", _("Can see the insight pages"))]

    def __str__(self):
        return str(self._meta.verbose_name)
