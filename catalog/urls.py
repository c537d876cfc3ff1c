"""Custom catalog pages under /admin/catalog/ (model admin URLs live beside them:
no page name here may equal a model name)."""

from django.urls import path

app_name = "catalog"

urlpatterns: list = [
    # imports (card codes, products)
    # inventory monitor, alerts
    # suppliers, sandbox supplier
    # pricing
]
