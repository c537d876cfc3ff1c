"""Order pages under /admin/orders/ (names never equal a model's admin URL)."""

from django.urls import path

from orders import review_views, support_views, views
from orders import workbench_views as workbench

app_name = "orders"

urlpatterns = [
    path("deliver/<int:pk>/", views.deliver, name="deliver"),
    path("resolve-topup/<int:pk>/", views.resolve_topup, name="resolve_topup"),
    path("manual-queue/", views.queue, name="manual_queue"),
    path("note/<int:pk>/", views.add_note, name="add_note"),
    path("topups/<int:pk>/refund/", views.refund_topup_page, name="refund_topup"),
    path("refund/<int:pk>/", views.refund, name="refund"),
    path("refund-decide/<int:pk>/", views.decide_refund, name="decide_refund"),
    path("held/", review_views.held_queue, name="held_queue"),
    path("held/<int:pk>/", review_views.review_held, name="review_held"),
    path("gateway-refunds/", review_views.gateway_refunds, name="gateway_refunds"),
    path(
        "gateway-refunds/<int:pk>/",
        review_views.confirm_gateway_refund,
        name="confirm_gateway_refund",
    ),
    path("ticket-reply/<int:pk>/", views.ticket_reply, name="ticket_reply"),
    path(
        "ticket-reissue/<int:pk>/", support_views.ticket_reissue, name="ticket_reissue"
    ),
    path(
        "ticket-invalid-codes/<int:pk>/",
        support_views.ticket_invalid_codes,
        name="ticket_invalid_codes",
    ),
    path(
        "ticket-attachment/<int:pk>/",
        views.ticket_attachment,
        name="ticket_attachment",
    ),
    # the order workbench (orders.workbench_views)
    path("workbench/", workbench.workbench, name="workbench"),
    path("workbench/filters/", workbench.save_filter, name="workbench_save_filter"),
    path(
        "workbench/filters/<int:pk>/delete/",
        workbench.delete_filter,
        name="workbench_delete_filter",
    ),
    path("workbench/export/", workbench.export_start, name="export_start"),
    path("workbench/exports/<int:pk>/", workbench.export_page, name="export"),
    path(
        "workbench/exports/<int:pk>/progress/",
        workbench.export_progress,
        name="export_progress",
    ),
    path(
        "workbench/exports/<int:pk>/download/",
        workbench.export_download,
        name="export_download",
    ),
    path("workbench/<int:pk>/retry/", workbench.retry, name="retry_fulfilment"),
    path("workbench/<int:pk>/switch/", workbench.switch, name="switch_supplier"),
    path(
        "workbench/<int:pk>/deliver/", workbench.mark_delivered, name="mark_delivered"
    ),
    path("workbench/<int:pk>/cancel/", workbench.cancel, name="cancel_order"),
]
