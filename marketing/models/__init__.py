"""Marketing's tables, one module per marketing module; each adds its import
line here so `from marketing.models import X` keeps working."""

from marketing.models.coupons import Coupon, CouponTemplate
from marketing.models.flash_sales import FlashSale, FlashSaleBuyer, FlashSaleClaim
from marketing.models.group_buy import (
    BuyerGroup,
    FailedGroup,
    GroupBuyCampaign,
    GroupMember,
)
from marketing.models.issuing import (
    CouponCampaign,
    CouponIssueJob,
    RedeemCode,
    RedeemCodeBatch,
)
from marketing.models.points import (
    PointsAccount,
    PointsCheckin,
    PointsEntry,
    PointsExpiryNotice,
    PointsLevelRate,
    PointsMallItem,
    PointsReview,
    PointsSettings,
)
from marketing.models.referral import (
    Referral,
    ReferralCode,
    ReferralReward,
    ReferralSettings,
)
from marketing.models.segments import (
    SCORE_VALIDATORS,
    CategoryPurchase,
    PrioritySupport,
    PromotedProduct,
    RfmScore,
    Segment,
    SegmentMember,
    Strategy,
    StrategyRun,
    StrategyRunBuyer,
    score_field,
)
from marketing.models.topup_bonus import BonusGrant, BonusRule, BonusTier
from marketing.models.vouchers import Voucher, VoucherBatch

__all__ = [
    "Referral",
    "ReferralCode",
    "ReferralReward",
    "ReferralSettings",
    "CouponCampaign",
    "CouponIssueJob",
    "RedeemCode",
    "RedeemCodeBatch",
    "BonusGrant",
    "BonusRule",
    "BonusTier",
    "Voucher",
    "VoucherBatch",
    "PointsAccount",
    "PointsCheckin",
    "PointsEntry",
    "PointsExpiryNotice",
    "PointsLevelRate",
    "PointsMallItem",
    "PointsReview",
    "PointsSettings",
    "BuyerGroup",
    "FailedGroup",
    "GroupBuyCampaign",
    "GroupMember",
    "Coupon",
    "CouponTemplate",
    "FlashSale",
    "FlashSaleBuyer",
    "FlashSaleClaim",
    "SCORE_VALIDATORS",
    "CategoryPurchase",
    "PrioritySupport",
    "PromotedProduct",
    "RfmScore",
    "Segment",
    "SegmentMember",
    "Strategy",
    "StrategyRun",
    "StrategyRunBuyer",
    "score_field",
]
