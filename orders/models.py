from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderRights(models.Model):
    """Holds the orders permissions the roles need before the Order model exists.

    No table (managed = False); the orders issue moves these to Order.Meta.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("refund_order", _("Can refund orders"))]

    def __str__(self):
        return "orders rights"
