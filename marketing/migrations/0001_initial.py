# Segments and strategies (issue 10).

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('catalog', '0005_sku_sale_version'),
        ('users', '0005_user_email_search'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RfmScore',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='rfm', serialize=False, to=settings.AUTH_USER_MODEL, verbose_name='buyer')),
                ('recency', models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='recency score')),
                ('frequency', models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='frequency score')),
                ('monetary', models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='monetary score')),
                ('scored_on', models.DateField(verbose_name='scored on')),
            ],
            options={
                'verbose_name': 'RFM score',
                'verbose_name_plural': 'RFM scores',
                'indexes': [models.Index(fields=['recency', 'frequency', 'monetary'], name='marketing_rfm_cell_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('recency__gte', 1), ('recency__lte', 5), ('frequency__gte', 1), ('frequency__lte', 5), ('monetary__gte', 1), ('monetary__lte', 5)), name='marketing_rfm_scores_1_to_5')],
            },
        ),
        migrations.CreateModel(
            name='Segment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=60, unique=True, verbose_name='name')),
                ('builtin', models.CharField(blank=True, choices=[('high_value', 'High value'), ('low_frequency', 'Low frequency'), ('would_be', 'Would-be buyers'), ('dormant', 'Dormant'), ('new', 'New buyers')], default='', max_length=16, verbose_name='built-in rule')),
                ('description', models.CharField(blank=True, max_length=200, verbose_name='description')),
                ('min_spent', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='spent at least')),
                ('max_spent', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='spent at most')),
                ('ordered_within_days', models.PositiveIntegerField(blank=True, help_text='Last paid order at most this many days ago.', null=True, verbose_name='ordered within (days)')),
                ('not_ordered_for_days', models.PositiveIntegerField(blank=True, help_text='Has ordered, but not in this many days.', null=True, verbose_name='no order for (days)')),
                ('registered_from', models.DateField(blank=True, null=True, verbose_name='registered from')),
                ('registered_to', models.DateField(blank=True, null=True, verbose_name='registered until')),
                ('recency_min', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='recency score from')),
                ('recency_max', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='recency score to')),
                ('frequency_min', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='frequency score from')),
                ('frequency_max', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='frequency score to')),
                ('monetary_min', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='monetary score from')),
                ('monetary_max', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)], verbose_name='monetary score to')),
                ('member_count', models.PositiveIntegerField(default=0, verbose_name='members')),
                ('computed_at', models.DateTimeField(blank=True, null=True, verbose_name='members counted at')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('categories', models.ManyToManyField(blank=True, help_text='Has paid for something in any of these categories.', related_name='+', to='catalog.category', verbose_name='bought in categories')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('levels', models.ManyToManyField(blank=True, help_text='Any of these levels.', related_name='+', to='users.memberlevel', verbose_name='member levels')),
            ],
            options={
                'verbose_name': 'segment',
                'verbose_name_plural': 'segments',
                'ordering': ['-builtin', 'name'],
            },
        ),
        migrations.CreateModel(
            name='SegmentMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('segment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='members', to='marketing.segment', verbose_name='segment')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='buyer')),
            ],
            options={
                'verbose_name': 'segment member',
                'verbose_name_plural': 'segment members',
            },
        ),
        migrations.CreateModel(
            name='Strategy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=60, unique=True, verbose_name='name')),
                ('action', models.CharField(choices=[('issue_coupon', 'Issue a coupon'), ('priority_support', 'Priority support'), ('recommend', 'Recommend products')], max_length=20, verbose_name='action')),
                ('schedule', models.CharField(choices=[('daily', 'Every day'), ('weekly', 'Once a week'), ('monthly', 'On the 1st of each month')], default='daily', max_length=8, verbose_name='schedule')),
                ('weekday', models.PositiveSmallIntegerField(choices=[(0, 'Monday'), (1, 'Tuesday'), (2, 'Wednesday'), (3, 'Thursday'), (4, 'Friday'), (5, 'Saturday'), (6, 'Sunday')], default=0, help_text='For a weekly strategy.', verbose_name='weekday')),
                ('coupon_template_id', models.PositiveBigIntegerField(blank=True, null=True, verbose_name='coupon template')),
                ('lasts_days', models.PositiveSmallIntegerField(default=30, help_text='How long priority support or a recommendation lasts.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(365)], verbose_name='lasts (days)')),
                ('active', models.BooleanField(default=True, verbose_name='active')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('products', models.ManyToManyField(blank=True, related_name='+', to='catalog.product', verbose_name='products to recommend')),
                ('segment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='strategies', to='marketing.segment', verbose_name='segment')),
            ],
            options={
                'verbose_name': 'strategy',
                'verbose_name_plural': 'strategies',
                'ordering': ['name'],
                'permissions': [('run_strategy', 'Can run a strategy now')],
            },
        ),
        migrations.CreateModel(
            name='PromotedProduct',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('promoted_on', models.DateField(verbose_name='promoted on')),
                ('expires_on', models.DateField(verbose_name='expires on')),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.product', verbose_name='product')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='buyer')),
                ('strategy', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='marketing.strategy', verbose_name='strategy')),
            ],
            options={
                'verbose_name': 'promoted product',
                'verbose_name_plural': 'promoted products',
            },
        ),
        migrations.CreateModel(
            name='PrioritySupport',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='priority_support', serialize=False, to=settings.AUTH_USER_MODEL, verbose_name='buyer')),
                ('granted_on', models.DateField(verbose_name='granted on')),
                ('expires_on', models.DateField(verbose_name='expires on')),
                ('strategy', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='marketing.strategy', verbose_name='strategy')),
            ],
            options={
                'verbose_name': 'priority support',
                'verbose_name_plural': 'priority support',
            },
        ),
        migrations.CreateModel(
            name='StrategyRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('run_on', models.DateField(verbose_name='day')),
                ('outcome', models.CharField(choices=[('done', 'Done'), ('unavailable', 'Action not available yet')], max_length=12, verbose_name='outcome')),
                ('buyers', models.PositiveIntegerField(default=0, verbose_name='buyers acted on')),
                ('started_at', models.DateTimeField(verbose_name='started at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='run by')),
                ('strategy', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='marketing.strategy', verbose_name='strategy')),
            ],
            options={
                'verbose_name': 'strategy run',
                'verbose_name_plural': 'strategy runs',
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='StrategyRunBuyer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='targets', to='marketing.strategyrun', verbose_name='run')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='buyer')),
            ],
            options={
                'verbose_name': 'buyer acted on',
                'verbose_name_plural': 'buyers acted on',
            },
        ),
        migrations.CreateModel(
            name='CategoryPurchase',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('orders', models.PositiveIntegerField(default=0, verbose_name='paid orders')),
                ('last_bought_at', models.DateTimeField(verbose_name='last bought')),
                ('category', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.category', verbose_name='category')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='buyer')),
            ],
            options={
                'verbose_name': 'category bought',
                'verbose_name_plural': 'categories bought',
                'indexes': [models.Index(fields=['category', 'user'], name='marketing_catbuy_cat_idx')],
                'constraints': [models.UniqueConstraint(fields=('user', 'category'), name='marketing_categorypurchase_once')],
            },
        ),
        migrations.AddConstraint(
            model_name='segment',
            constraint=models.UniqueConstraint(condition=models.Q(('builtin', ''), _negated=True), fields=('builtin',), name='marketing_segment_builtin_once'),
        ),
        migrations.AddConstraint(
            model_name='segment',
            constraint=models.CheckConstraint(condition=models.Q(('min_spent__isnull', True), ('max_spent__isnull', True), ('min_spent__lte', models.F('max_spent')), _connector='OR'), name='marketing_segment_spend_range'),
        ),
        migrations.AddIndex(
            model_name='segmentmember',
            index=models.Index(fields=['user'], name='marketing_member_user_idx'),
        ),
        migrations.AddConstraint(
            model_name='segmentmember',
            constraint=models.UniqueConstraint(fields=('segment', 'user'), name='marketing_segmentmember_once'),
        ),
        migrations.AddIndex(
            model_name='promotedproduct',
            index=models.Index(fields=['user', '-promoted_on'], name='marketing_promoted_user_idx'),
        ),
        migrations.AddConstraint(
            model_name='promotedproduct',
            constraint=models.UniqueConstraint(fields=('user', 'product'), name='marketing_promotedproduct_once'),
        ),
        migrations.AddConstraint(
            model_name='strategyrun',
            constraint=models.UniqueConstraint(fields=('strategy', 'run_on'), name='marketing_strategyrun_once_a_day'),
        ),
        migrations.AddIndex(
            model_name='strategyrunbuyer',
            index=models.Index(fields=['user'], name='marketing_runbuyer_user_idx'),
        ),
        migrations.AddConstraint(
            model_name='strategyrunbuyer',
            constraint=models.UniqueConstraint(fields=('run', 'user'), name='marketing_runbuyer_once'),
        ),
    ]
