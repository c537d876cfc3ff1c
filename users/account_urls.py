"""A member of staff's own account, mounted at /admin/me/ by kameng/urls.py."""

from django.urls import path

from users import account_views

urlpatterns = [
    path("", account_views.my_account, name="my_account"),
    path("two-factor/", account_views.two_factor_setup, name="two_factor_setup"),
    path(
        "two-factor/verify/", account_views.two_factor_verify, name="two_factor_verify"
    ),
    path(
        "two-factor/off/", account_views.two_factor_disable, name="two_factor_disable"
    ),
    path(
        "two-factor/recovery-codes/",
        account_views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
]
