"""Custom catalog pages under /admin/catalog/ (model admin URLs live beside them:
no page name here may equal a model name)."""

from django.urls import path

from catalog.views import codes
from catalog.views import imports as import_views
from catalog.views import inventory as inventory_views

app_name = "catalog"

urlpatterns: list = [
    path("codes/<int:pk>/reveal/", codes.reveal, name="reveal_code"),
    # imports (card codes, products)
    path("imports/codes/", import_views.import_codes, name="import_codes"),
    path(
        "imports/codes/template.xlsx",
        import_views.code_template,
        name="import_codes_template",
    ),
    path("imports/batches/<int:pk>/", import_views.batch_detail, name="import_batch"),
    path(
        "imports/batches/<int:pk>/progress/",
        import_views.batch_progress,
        name="import_batch_progress",
    ),
    path(
        "imports/batches/<int:pk>/commit/",
        import_views.batch_commit,
        name="import_batch_commit",
    ),
    path(
        "imports/batches/<int:pk>/discard/",
        import_views.batch_discard,
        name="import_batch_discard",
    ),
    path(
        "imports/batches/<int:pk>/void/",
        import_views.batch_void,
        name="import_batch_void",
    ),
    path(
        "imports/batches/<int:pk>/errors.<str:fmt>",
        import_views.batch_report,
        name="import_batch_report",
    ),
    path("imports/products/", import_views.import_products, name="import_products"),
    path(
        "imports/products/template.xlsx",
        import_views.product_template,
        name="import_products_template",
    ),
    # inventory monitor, alerts
    path("inventory/", inventory_views.inventory, name="inventory"),
    path("inventory/rows/", inventory_views.inventory_rows, name="inventory_rows"),
]
