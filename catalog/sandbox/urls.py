from django.urls import path

from catalog.sandbox import views

urlpatterns = [
    path("orders/", views.submit_order, name="sandbox-supplier-submit"),
    path("orders/<str:order_no>/", views.query_order, name="sandbox-supplier-query"),
]
