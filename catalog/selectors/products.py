from django.db.models import Count, Q, Sum
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
        # SKUs per delivery type (labelled as SKUs: "卡密" alone read as codes).
        *(
            {
                "label": _("%(type)s SKUs") % {"type": label},
                "value": by_type.get(value, 0),
            }
            for value, label in Sku.DeliveryType.choices
        ),
        {
            "label": _("Card codes in stock"),
            "value": Sku.objects.filter(stock_mode=Sku.StockMode.CODES).aggregate(
                codes=Sum("stock")
            )["codes"]
            or 0,
        },
    ]
