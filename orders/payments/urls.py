"""Public payment endpoints, mounted at /pay/ (gateway notifies, sandbox page),
and the finance page of unsettled gateway payments."""

from django.urls import path

from orders import converters  # noqa: F401 - registers <order_no:…>
from orders.payments import views

app_name = "payments"

urlpatterns = [
    path("finance/", views.finance, name="finance"),
    path("<slug:channel>/notify/", views.notify, name="notify"),
    path("sandbox/<order_no:order_no>/", views.sandbox_page, name="sandbox_page"),
]
