"""The shop's flash-sale box: `{% flash_sale_box sku %}` on the product page.

Shows the live sale (countdown to its end, units left, the flash price) or the
next one (countdown to its start); nothing when the module is off or the SKU has
no sale to come. Server time and the target go in data attributes; the ticking
is static/shop/flash-sale.js (no inline script)."""

from django import template
from django.utils import timezone

from kameng import modules
from marketing.flash_sales import MODULE, next_sale
from marketing.models import FlashSale

register = template.Library()


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


@register.inclusion_tag("shop/_flash_sale.html", takes_context=True)
def flash_sale_box(context, sku):
    if sku is None or not modules.is_enabled(MODULE):
        return {"sale": None}
    now = timezone.now()
    sale = next_sale(sku, now)
    if sale is None:
        return {"sale": None}
    live = sale.is_live(now)
    remaining = None
    if live:  # one read of the counter, only while a sale is live
        sold = FlashSale.objects.filter(pk=sale.id).values_list("sold", flat=True)
        remaining = max(sale.quantity_cap - (sold.first() or 0), 0)
    user = context.get("user")
    return {
        "sale": sale,
        "live": live,
        "remaining": remaining,
        "server_now": _ms(now),
        "target": _ms(sale.ends_at if live else sale.starts_at),
        "logged_in": bool(user and user.is_authenticated),
        "sku": sku,
    }
