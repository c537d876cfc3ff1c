from django.urls import path

from marketing import (
    flash_views,
    issuing_views,
    points_views,
    referral_views,
    views,
    vouchers_views,
)
from marketing.coupons import views as coupon_views

app_name = "marketing"

urlpatterns = [
    path("referrals/review/", referral_views.referral_review, name="referral_review"),
    path(
        "referrals/<int:pk>/decide/",
        referral_views.referral_decide,
        name="referral_decide",
    ),
    path("points/adjust/", points_views.points_adjust, name="points_adjust"),
    path("vouchers/new/", vouchers_views.voucher_generate, name="voucher_generate"),
    path(
        "vouchers/<int:pk>/export/",
        vouchers_views.voucher_export,
        name="voucher_export",
    ),
    path(
        "coupons/templates/<int:pk>/issue/",
        coupon_views.coupon_named_issue,
        name="coupon_named_issue",
    ),
    path("coupons/report/", coupon_views.coupon_report, name="coupon_report"),
    path("segments/new/", views.segment_editor, name="segment_new"),
    path("segments/<int:pk>/edit/", views.segment_editor, name="segment_edit"),
    path("coupons/bulk/", issuing_views.coupon_issue, name="coupon_issue"),
    path(
        "coupons/bulk/<int:pk>/",
        issuing_views.coupon_issue_job,
        name="coupon_issue_job",
    ),
    path(
        "coupons/bulk/<int:pk>/progress/",
        issuing_views.coupon_issue_progress,
        name="coupon_issue_progress",
    ),
    path(
        "coupons/redeem-codes/<int:pk>/export/",
        issuing_views.redeem_batch_export,
        name="redeem_batch_export",
    ),
    path("flash-sales/", flash_views.flash_sales_live, name="flash_sales_live"),
    path(
        "flash-sales/<int:pk>/live/",
        flash_views.flash_sale_live,
        name="flash_sale_live",
    ),
    path(
        "flash-sales/<int:pk>/figures/",
        flash_views.flash_sale_figures,
        name="flash_sale_figures",
    ),
    path(
        "flash-sales/<int:pk>/results/",
        flash_views.flash_sale_results,
        name="flash_sale_results",
    ),
]
