"""Custom catalog pages under /admin/catalog/ (model admin URLs live beside them:
no page name here may equal a model name)."""

from django.urls import path  # noqa: F401 - each area adds its pages below

app_name = "catalog"

urlpatterns: list = [
    # imports (card codes, products)
    # inventory monitor, alerts
    # suppliers
    # pricing
]
