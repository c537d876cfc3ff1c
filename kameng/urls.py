from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from kameng.audit_views import audit_log
from kameng.module_views import module_switches
from kameng.views import favicon, healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("pay/", include("orders.payments.urls")),
    path("shop/", include("orders.storefront.urls")),
    path("sandbox/supplier/", include("catalog.sandbox.urls")),
    path("supplier-callback/<int:supplier_id>/", include("catalog.callback_urls")),
    # Custom back-office pages first; their names never equal a model's admin URL.
    path("admin/catalog/", include("catalog.urls")),
    path("admin/orders/", include("orders.urls")),
    path("admin/users/", include("orders.customer_urls")),
    path("admin/users/", include("users.urls")),
    path("admin/marketing/", include("marketing.urls")),  # segment editor
    path("admin/analytics/", include("analytics.urls")),  # insight pages
    path("admin/me/", include("users.account_urls")),
    path("admin/audit/", audit_log, name="audit_log"),  # audit trail
    path("admin/modules/", module_switches, name="module_switches"),
    path("admin/", admin.site.urls),
]

# 403 and 404 in people's words: the back office's layout under /admin/, the shop's
# elsewhere (kameng.errors).
handler403 = "kameng.errors.permission_denied"
handler404 = "kameng.errors.page_not_found"
