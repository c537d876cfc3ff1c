"""Shop pages of a buyer's favourites: the heart on a product page (POST) and
the "my favourites" list. Favourites are kept by users (product ids); the names
and prices come from catalog here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Min, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog.models import Product
from users.selectors import favourite_product_ids
from users.tracking import toggle_favourite


@require_POST
@login_required(login_url="shop:login")
def toggle(request, pk: int):
    product = get_object_or_404(Product, pk=pk, status=Product.Status.LISTED)
    toggle_favourite(user=request.user, product_id=product.pk)
    return redirect("shop:product", pk=product.pk)


@login_required(login_url="shop:login")
def my_favourites(request):
    ids = favourite_product_ids(user=request.user)
    products = {
        product.pk: product
        for product in Product.objects.filter(pk__in=ids, status=Product.Status.LISTED)
        .select_related("category")
        .annotate(from_price=Min("skus__price", filter=Q(skus__is_active=True)))
    }
    return render(
        request,
        "shop/favourites.html",
        {"products": [products[pk] for pk in ids if pk in products]},
    )
