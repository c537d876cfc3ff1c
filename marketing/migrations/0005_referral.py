# Referral (邀请有礼, issue 13): invite codes, referrals, rewards, settings.

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0004_vouchers_bonuses"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Referral",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("code", models.CharField(max_length=16, verbose_name="invite code")),
                (
                    "signup_ip",
                    models.GenericIPAddressField(
                        blank=True, null=True, verbose_name="signup IP"
                    ),
                ),
                (
                    "device_id",
                    models.CharField(blank=True, max_length=64, verbose_name="device"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True, verbose_name="signed up at"
                    ),
                ),
                (
                    "review",
                    models.CharField(
                        choices=[
                            ("ok", "No review needed"),
                            ("held", "Awaiting review"),
                            ("cleared", "Cleared"),
                            ("rejected", "Rejected"),
                        ],
                        default="ok",
                        max_length=16,
                        verbose_name="review",
                    ),
                ),
                (
                    "reasons",
                    models.JSONField(blank=True, default=list, verbose_name="reasons"),
                ),
                (
                    "reviewed_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="reviewed at"
                    ),
                ),
                (
                    "review_note",
                    models.CharField(
                        blank=True, max_length=255, verbose_name="review note"
                    ),
                ),
                (
                    "first_order_id",
                    models.BigIntegerField(
                        blank=True, null=True, verbose_name="first paid order"
                    ),
                ),
                (
                    "first_order_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="first paid at"
                    ),
                ),
                (
                    "first_order_amount",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        max_digits=14,
                        null=True,
                        verbose_name="first order paid",
                    ),
                ),
                (
                    "invitee",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="referral",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="invited friend",
                    ),
                ),
                (
                    "inviter",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="referrals_made",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="inviter",
                    ),
                ),
                (
                    "reviewed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="reviewed by",
                    ),
                ),
            ],
            options={
                "verbose_name": "referral",
                "verbose_name_plural": "referrals",
                "ordering": ["-id"],
                "permissions": [
                    ("review_referral", "Can clear or reject held referrals")
                ],
            },
        ),
        migrations.CreateModel(
            name="ReferralCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        max_length=16, unique=True, verbose_name="invite code"
                    ),
                ),
                (
                    "seen_devices",
                    models.JSONField(
                        blank=True, default=list, verbose_name="devices seen"
                    ),
                ),
                (
                    "seen_ips",
                    models.JSONField(
                        blank=True, default=list, verbose_name="addresses seen"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="referral_code",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="buyer",
                    ),
                ),
            ],
            options={
                "verbose_name": "invite code",
                "verbose_name_plural": "invite codes",
            },
        ),
        migrations.CreateModel(
            name="ReferralReward",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "event",
                    models.CharField(
                        choices=[
                            ("signup", "Friend signed up"),
                            ("first_order", "Friend's first paid order"),
                        ],
                        max_length=16,
                        verbose_name="event",
                    ),
                ),
                (
                    "side",
                    models.CharField(
                        choices=[("inviter", "Inviter"), ("invitee", "Invited friend")],
                        max_length=8,
                        verbose_name="side",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("none", "No reward"),
                            ("wallet", "Wallet credit"),
                            ("coupon", "Coupon"),
                            ("points", "Points"),
                        ],
                        max_length=16,
                        verbose_name="reward",
                    ),
                ),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="amount"
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        blank=True, max_length=64, verbose_name="reference"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="paid at"),
                ),
                (
                    "coupon_template",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.coupontemplate",
                        verbose_name="coupon",
                    ),
                ),
                (
                    "referral",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="rewards",
                        to="marketing.referral",
                        verbose_name="referral",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="referral_rewards",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="rewarded buyer",
                    ),
                ),
            ],
            options={
                "verbose_name": "referral reward",
                "verbose_name_plural": "referral rewards",
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="ReferralSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "signup_inviter_kind",
                    models.CharField(
                        choices=[
                            ("none", "No reward"),
                            ("wallet", "Wallet credit"),
                            ("coupon", "Coupon"),
                            ("points", "Points"),
                        ],
                        default="none",
                        max_length=16,
                        verbose_name="on signup: inviter's reward",
                    ),
                ),
                (
                    "signup_inviter_amount",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        help_text="Wallet credit: the yuan credited; points: how many points.",
                        max_digits=14,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.00"))
                        ],
                        verbose_name="on signup: inviter's amount",
                    ),
                ),
                (
                    "signup_invitee_kind",
                    models.CharField(
                        choices=[
                            ("none", "No reward"),
                            ("wallet", "Wallet credit"),
                            ("coupon", "Coupon"),
                            ("points", "Points"),
                        ],
                        default="none",
                        max_length=16,
                        verbose_name="on signup: friend's reward",
                    ),
                ),
                (
                    "signup_invitee_amount",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        help_text="Wallet credit: the yuan credited; points: how many points.",
                        max_digits=14,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.00"))
                        ],
                        verbose_name="on signup: friend's amount",
                    ),
                ),
                (
                    "first_order_inviter_kind",
                    models.CharField(
                        choices=[
                            ("none", "No reward"),
                            ("wallet", "Wallet credit"),
                            ("coupon", "Coupon"),
                            ("points", "Points"),
                        ],
                        default="none",
                        max_length=16,
                        verbose_name="on first order: inviter's reward",
                    ),
                ),
                (
                    "first_order_inviter_amount",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        help_text="Wallet credit: the yuan credited; points: how many points.",
                        max_digits=14,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.00"))
                        ],
                        verbose_name="on first order: inviter's amount",
                    ),
                ),
                (
                    "first_order_invitee_kind",
                    models.CharField(
                        choices=[
                            ("none", "No reward"),
                            ("wallet", "Wallet credit"),
                            ("coupon", "Coupon"),
                            ("points", "Points"),
                        ],
                        default="none",
                        max_length=16,
                        verbose_name="on first order: friend's reward",
                    ),
                ),
                (
                    "first_order_invitee_amount",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        help_text="Wallet credit: the yuan credited; points: how many points.",
                        max_digits=14,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.00"))
                        ],
                        verbose_name="on first order: friend's amount",
                    ),
                ),
                (
                    "first_order_min_amount",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        help_text="A first order paying less earns nothing (0: any amount).",
                        max_digits=14,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.00"))
                        ],
                        verbose_name="first order: minimum paid",
                    ),
                ),
                (
                    "max_per_hour",
                    models.PositiveIntegerField(
                        default=5,
                        help_text="More sign-ups than this within an hour are held for review.",
                        verbose_name="invites per inviter per hour",
                    ),
                ),
                (
                    "max_per_day",
                    models.PositiveIntegerField(
                        default=20,
                        help_text="More sign-ups than this within a day are held for review.",
                        verbose_name="invites per inviter per day",
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, verbose_name="updated at"),
                ),
                (
                    "first_order_invitee_coupon",
                    models.ForeignKey(
                        blank=True,
                        help_text="Coupon: the template one coupon is issued from.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.coupontemplate",
                        verbose_name="on first order: friend's coupon",
                    ),
                ),
                (
                    "first_order_inviter_coupon",
                    models.ForeignKey(
                        blank=True,
                        help_text="Coupon: the template one coupon is issued from.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.coupontemplate",
                        verbose_name="on first order: inviter's coupon",
                    ),
                ),
                (
                    "signup_invitee_coupon",
                    models.ForeignKey(
                        blank=True,
                        help_text="Coupon: the template one coupon is issued from.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.coupontemplate",
                        verbose_name="on signup: friend's coupon",
                    ),
                ),
                (
                    "signup_inviter_coupon",
                    models.ForeignKey(
                        blank=True,
                        help_text="Coupon: the template one coupon is issued from.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="marketing.coupontemplate",
                        verbose_name="on signup: inviter's coupon",
                    ),
                ),
            ],
            options={
                "verbose_name": "referral settings",
                "verbose_name_plural": "referral settings",
            },
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                fields=["inviter", "-created_at"], name="mkt_referral_inviter_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["review", "id"], name="mkt_referral_review_idx"),
        ),
        migrations.AddConstraint(
            model_name="referral",
            constraint=models.CheckConstraint(
                condition=models.Q(("inviter", models.F("invitee")), _negated=True),
                name="marketing_referral_not_self",
            ),
        ),
        migrations.AddIndex(
            model_name="referralreward",
            index=models.Index(fields=["user", "-id"], name="mkt_refreward_user_idx"),
        ),
        migrations.AddConstraint(
            model_name="referralreward",
            constraint=models.UniqueConstraint(
                fields=("referral", "event", "side"),
                name="marketing_referral_reward_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="referralsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(("pk", 1)),
                name="marketing_referral_settings_single_row",
            ),
        ),
        migrations.AddConstraint(
            model_name="referralsettings",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("signup_inviter_amount__gte", 0),
                    ("signup_invitee_amount__gte", 0),
                    ("first_order_inviter_amount__gte", 0),
                    ("first_order_invitee_amount__gte", 0),
                    ("first_order_min_amount__gte", 0),
                ),
                name="marketing_referral_settings_amounts_gte_0",
            ),
        ),
    ]
