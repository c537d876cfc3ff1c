"""Custom catalog pages under /admin/catalog/ (model admin URLs live beside them:
no page name here may equal a model name)."""

from django.urls import path

from catalog.views import codes

app_name = "catalog"

urlpatterns: list = [
    path("codes/<int:pk>/reveal/", codes.reveal, name="reveal_code"),
    # imports (card codes, products)
    # inventory monitor, alerts
    # suppliers
    # pricing
]
