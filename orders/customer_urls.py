"""The customer profile under /admin/users/ (a buyer's page beside the buyer
list; mounted before the admin site, so the admin's catch-all never sees it)."""

from django.urls import path

from orders import profile

app_name = "customers"

urlpatterns = [
    path("buyer/<int:pk>/profile/", profile.buyer_profile_page, name="buyer_profile"),
]
