"""Order pages under /admin/orders/ (names never equal a model's admin URL)."""

from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("deliver/<int:pk>/", views.deliver, name="deliver"),
    path("resolve-topup/<int:pk>/", views.resolve_topup, name="resolve_topup"),
    path("manual-queue/", views.queue, name="manual_queue"),
    path("note/<int:pk>/", views.add_note, name="add_note"),
    path("refund/<int:pk>/", views.refund, name="refund"),
    path("refund-decide/<int:pk>/", views.decide_refund, name="decide_refund"),
    path("ticket-reply/<int:pk>/", views.ticket_reply, name="ticket_reply"),
    path(
        "ticket-attachment/<int:pk>/",
        views.ticket_attachment,
        name="ticket_attachment",
    ),
]
