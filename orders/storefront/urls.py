from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from kameng.logins import ShopLoginForm
from orders import converters  # noqa: F401 - registers <order_no:…>
from orders.storefront import account, favourites, views
from orders.storefront import coupons as coupon_pages
from orders.storefront import group_buy as group_buy_views
from orders.storefront import points as points_pages
from orders.storefront import redeem as redeem_pages
from orders.storefront import referral as referral_pages
from orders.storefront import vouchers as voucher_pages

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<int:pk>/", views.product, name="product"),
    path("p/<int:pk>/favourite/", favourites.toggle, name="favourite"),
    path("favourites/", favourites.my_favourites, name="favourites"),
    path("coupons/", coupon_pages.my_coupons, name="coupons"),
    path("quote/<int:pk>/", views.quote, name="quote"),
    path("orders/", views.my_orders, name="orders"),
    path("orders/<order_no:order_no>/", views.order_detail, name="order"),
    path("orders/<order_no:order_no>/pay/", views.pay_order, name="pay_order"),
    path(
        "orders/<order_no:order_no>/aftersales/",
        views.open_ticket,
        name="open_ticket",
    ),
    path("tickets/", views.my_tickets, name="tickets"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path(
        "tickets/image/<int:pk>/",
        views.ticket_attachment,
        name="ticket_attachment",
    ),
    path("groups/<str:token>/", group_buy_views.group_page, name="group"),
    path("groups/<str:token>/join/", group_buy_views.join_group, name="group_join"),
    path("group-buy/<int:pk>/open/", group_buy_views.open_group, name="group_open"),
    path("lookup/", views.lookup, name="lookup"),
    path("wallet/", views.wallet, name="wallet"),
    path("vouchers/", voucher_pages.redeem, name="voucher_redeem"),
    path("wallet/topups/<order_no:topup_no>/pay/", views.pay_topup, name="pay_topup"),
    path("signup/", views.signup, name="signup"),
    path("invite/", referral_pages.my_invites, name="referral"),
    path("i/<str:code>/", referral_pages.invite_link, name="invite"),
    path("points/", points_pages.my_points, name="points"),
    path("points/checkin/", points_pages.checkin, name="points_checkin"),
    path("points/mall/<int:pk>/", points_pages.redeem, name="points_redeem"),
    path(
        "orders/<order_no:order_no>/review/",
        points_pages.review,
        name="order_review",
    ),
    path("account/", account.account, name="account"),
    path("account/password/", account.password_change, name="password_change"),
    path("account/birthday/", redeem_pages.birthday, name="birthday"),
    path("coupons/redeem/", redeem_pages.redeem_coupon, name="redeem_coupon"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="shop/login.html",
            authentication_form=ShopLoginForm,
            redirect_authenticated_user=True,
            next_page=reverse_lazy("shop:home"),
        ),
        name="login",
    ),
    path(
        "logout/",
        auth_views.LogoutView.as_view(next_page=reverse_lazy("shop:home")),
        name="logout",
    ),
]
