"""Mounted at /supplier-callback/<supplier_id>/ by kameng/urls.py."""

from django.urls import path

from catalog.views.supplier_callbacks import supplier_callback

urlpatterns = [
    path("", supplier_callback, name="supplier-callback"),
]
