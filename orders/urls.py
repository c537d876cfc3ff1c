"""Order pages under /admin/orders/ (names never equal a model's admin URL)."""

from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("deliver/<int:pk>/", views.deliver, name="deliver"),
    path("resolve-topup/<int:pk>/", views.resolve_topup, name="resolve_topup"),
    path("manual-queue/", views.queue, name="manual_queue"),
]
