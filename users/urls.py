"""The wallet pages under /admin/users/ (mounted before the admin site, so the
admin's catch-all never sees them; names never equal a model's admin URL)."""

from django.urls import path

from users import views

app_name = "wallets"

urlpatterns = [
    path("buyer/<int:pk>/wallet/", views.buyer_wallet, name="buyer_wallet"),
    path("buyer/<int:pk>/wallet/adjust/", views.adjust, name="adjust"),
]
