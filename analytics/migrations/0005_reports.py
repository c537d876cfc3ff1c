import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_forecasts"),
        ("catalog", "0005_sku_sale_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReportTemplate",
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
                ("name", models.CharField(max_length=80, verbose_name="name")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("weekly_sales", "Weekly sales report"),
                            ("monthly_users", "Monthly user analysis"),
                            ("custom", "Custom report"),
                        ],
                        max_length=20,
                        verbose_name="report",
                    ),
                ),
                (
                    "period",
                    models.CharField(
                        choices=[
                            ("last_week", "Last week (Monday to Sunday)"),
                            ("last_month", "Last calendar month"),
                            ("last_7_days", "Last 7 days"),
                            ("last_30_days", "Last 30 days"),
                        ],
                        default="last_week",
                        max_length=20,
                        verbose_name="period",
                    ),
                ),
                (
                    "metrics",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Custom reports only.",
                        verbose_name="metrics",
                    ),
                ),
                (
                    "dimension",
                    models.CharField(
                        choices=[
                            ("day", "Day"),
                            ("category", "Category"),
                            ("sku", "SKU"),
                            ("level", "Member level"),
                        ],
                        default="day",
                        max_length=20,
                        verbose_name="dimension",
                    ),
                ),
                (
                    "formats",
                    models.CharField(
                        choices=[
                            ("both", "Excel and PDF"),
                            ("excel", "Excel only"),
                            ("pdf", "PDF only"),
                        ],
                        default="both",
                        max_length=10,
                        verbose_name="files",
                    ),
                ),
                (
                    "recipients",
                    models.TextField(
                        blank=True,
                        help_text="Email addresses, one per line.",
                        verbose_name="recipients",
                    ),
                ),
                (
                    "schedule",
                    models.CharField(
                        blank=True,
                        help_text="Minute hour day-of-month month day-of-week, Asia/Shanghai time; e.g. 0 8 * * 1 is every Monday at 08:00. Empty: on demand only.",
                        max_length=60,
                        verbose_name="schedule (cron)",
                    ),
                ),
                ("enabled", models.BooleanField(default=True, verbose_name="enabled")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "category",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="catalog.category",
                        verbose_name="category filter",
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        help_text="Scheduled runs show what the owner may see.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
            ],
            options={
                "verbose_name": "report template",
                "verbose_name_plural": "report templates",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="ReportRun",
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
                    "scheduled",
                    models.BooleanField(default=False, verbose_name="scheduled"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "progress",
                    models.PositiveSmallIntegerField(
                        default=0, verbose_name="progress %"
                    ),
                ),
                ("first_day", models.DateField(verbose_name="first day")),
                ("last_day", models.DateField(verbose_name="last day")),
                (
                    "with_cost",
                    models.BooleanField(
                        default=False, verbose_name="with cost and profit"
                    ),
                ),
                (
                    "excel_file",
                    models.CharField(
                        blank=True, max_length=200, verbose_name="Excel file"
                    ),
                ),
                (
                    "pdf_file",
                    models.CharField(
                        blank=True, max_length=200, verbose_name="PDF file"
                    ),
                ),
                ("summary", models.TextField(blank=True, verbose_name="summary")),
                ("mailed_to", models.TextField(blank=True, verbose_name="mailed to")),
                (
                    "mailed_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="mailed at"
                    ),
                ),
                (
                    "mail_file",
                    models.CharField(
                        blank=True, max_length=300, verbose_name="mail file"
                    ),
                ),
                (
                    "failure",
                    models.CharField(
                        blank=True, max_length=300, verbose_name="failure"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True, verbose_name="requested at"
                    ),
                ),
                (
                    "finished_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="finished at"
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="runs",
                        to="analytics.reporttemplate",
                        verbose_name="report template",
                    ),
                ),
            ],
            options={
                "verbose_name": "report run",
                "verbose_name_plural": "report runs",
                "indexes": [
                    models.Index(
                        fields=["template", "-created_at"],
                        name="analytics_run_template_idx",
                    )
                ],
            },
        ),
    ]
