"""After-sales rules per delivery type × ticket type (with the defaults), invalid
and reissued card codes, canned replies and their uses (issue 11, support slice)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (delivery type, ticket type): allow reissue, allow refund, refund only after
# the codes are found invalid, what the buyer is told.
CARD_NOTE = (
    "卡密类商品发货后不直接退款：客服核实后为您补发新卡密；"
    "如经核实卡密确属无效且无法补发，将为您退款。"
)
TOPUP_NOTE = "充值失败或未到账的订单，经核实后退回您的钱包余额。"
MANUAL_NOTE = "人工发货商品的售后由客服按店铺规则处理，结果会在工单中告知您。"
DEFAULT_RULES = [
    *(
        ("card", kind, True, True, True, CARD_NOTE)
        for kind in ("refund", "reissue", "complaint", "inquiry", "abnormal")
    ),
    *(
        ("topup", kind, False, True, False, TOPUP_NOTE)
        for kind in ("refund", "reissue", "complaint", "inquiry", "abnormal")
    ),
    ("manual", "refund", False, True, False, MANUAL_NOTE),
    ("manual", "reissue", False, False, False, MANUAL_NOTE),
    ("manual", "complaint", False, True, False, MANUAL_NOTE),
    ("manual", "inquiry", False, False, False, MANUAL_NOTE),
    ("manual", "abnormal", False, True, False, MANUAL_NOTE),
]


def create_default_rules(apps, schema_editor):
    rule_model = apps.get_model("orders", "AfterSalesRule")
    for delivery, kind, reissue, refund, needs_invalid, note in DEFAULT_RULES:
        rule_model.objects.get_or_create(
            delivery_type=delivery,
            ticket_kind=kind,
            defaults={
                "allow_reissue": reissue,
                "allow_refund": refund,
                "refund_needs_invalid_codes": needs_invalid,
                "buyer_note": note,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_stock_codes_suppliers_pricing"),
        ("orders", "0008_workbench"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CannedReply',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=80, unique=True, verbose_name='title')),
                ('body', models.TextField(max_length=2000, verbose_name='text')),
                ('keywords', models.CharField(blank=True, help_text='Words buyers use for this question; they help the suggestions.', max_length=200, verbose_name='keywords')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
            ],
            options={
                'verbose_name': 'canned reply',
                'verbose_name_plural': 'canned replies',
                'ordering': ['title'],
            },
        ),
        migrations.CreateModel(
            name='AfterSalesRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('delivery_type', models.CharField(choices=[('card', 'Card code'), ('topup', 'Supplier top-up'), ('manual', 'Manual delivery')], max_length=10, verbose_name='delivery type')),
                ('ticket_kind', models.CharField(choices=[('refund', 'Refund'), ('reissue', 'Reissue'), ('complaint', 'Complaint'), ('inquiry', 'Inquiry'), ('abnormal', 'Abnormal order')], max_length=12, verbose_name='ticket type')),
                ('allow_reissue', models.BooleanField(default=False, help_text='Replace delivered card codes with fresh ones (card codes only).', verbose_name='reissue allowed')),
                ('allow_refund', models.BooleanField(default=False, verbose_name='refund allowed')),
                ('refund_needs_invalid_codes', models.BooleanField(default=False, help_text='A refund is offered only once staff have checked the delivered card codes and marked them invalid.', verbose_name='refund only after the codes are found invalid')),
                ('buyer_note', models.CharField(blank=True, help_text="Shown on the buyer's ticket page in the shop.", max_length=300, verbose_name='what the buyer is told')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
            ],
            options={
                'verbose_name': 'after-sales rule',
                'verbose_name_plural': 'after-sales rules',
                'ordering': ['delivery_type', 'ticket_kind'],
                'constraints': [models.UniqueConstraint(fields=('delivery_type', 'ticket_kind'), name='orders_aftersalesrule_uniq'), models.CheckConstraint(condition=models.Q(('allow_reissue', False), ('delivery_type', 'card'), _connector='OR'), name='orders_aftersalesrule_reissue_card')],
            },
        ),
        migrations.CreateModel(
            name='CannedReplyUse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='at')),
                ('message', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='canned_use', to='orders.ticketmessage', verbose_name='message')),
                ('reply', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='uses', to='orders.cannedreply', verbose_name='canned reply')),
                ('ticket', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='canned_uses', to='orders.ticket', verbose_name='ticket')),
            ],
            options={
                'verbose_name': 'canned reply use',
                'verbose_name_plural': 'canned reply uses',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='CodeInvalidation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.UUIDField(db_index=True, verbose_name='request key')),
                ('reason', models.CharField(max_length=300, verbose_name='reason')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='at')),
                ('actor', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='checked by')),
                ('code', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.cardcode', verbose_name='invalid code')),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='code_invalidations', to='orders.order', verbose_name='order')),
                ('replacement', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.cardcode', verbose_name='reissued code')),
                ('ticket', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='orders.ticket', verbose_name='ticket')),
            ],
            options={
                'verbose_name': 'invalid card code',
                'verbose_name_plural': 'invalid card codes',
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['order', 'id'], name='orders_codeinv_order_idx')],
            },
        ),
        migrations.RunPython(create_default_rules, migrations.RunPython.noop),
    ]
