from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Category, Product, Sku, StockAlert


def catalog_figures() -> list[dict]:
    products = Product.objects.aggregate(
        total=Count("id"), listed=Count("id", filter=Q(status=Product.Status.LISTED))
    )
    by_type = dict(
        Sku.objects.values_list("delivery_type").annotate(n=Count("id")).order_by()
    )
    return [
        {"label": _("Categories"), "value": Category.objects.count()},
        {"label": _("Products"), "value": products["total"]},
        {"label": _("Listed products"), "value": products["listed"]},
        {
            "label": _("Open stock alerts"),
            "value": StockAlert.objects.filter(status=StockAlert.Status.OPEN).count(),
        },
        *(
            {"label": label, "value": by_type.get(value, 0)}
            for value, label in Sku.DeliveryType.choices
        ),
    ]
