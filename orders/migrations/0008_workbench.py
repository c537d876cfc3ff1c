# The order workbench (issue 11): saved filters, Excel exports, and the indexes
# its list and exact searches use.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Exact search by recharge account: `recharge_account @> {"phone": "…"}` on
# PostgreSQL, through a GIN index (SQLite has no such index; it reads the JSON).
RECHARGE_INDEX = "orders_recharge_account_gin_idx"


def create_recharge_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {RECHARGE_INDEX} ON orders_order "
            "USING gin (recharge_account jsonb_path_ops)"
        )


def drop_recharge_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {RECHARGE_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_ticket_leads"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderExport",
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
                    "criteria",
                    models.JSONField(blank=True, default=dict, verbose_name="filters"),
                ),
                (
                    "with_cost",
                    models.BooleanField(
                        default=False, verbose_name="with cost columns"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Writing"),
                            ("done", "Ready to download"),
                            ("failed", "Failed"),
                            ("expired", "Expired"),
                        ],
                        default="queued",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "total_rows",
                    models.PositiveIntegerField(
                        blank=True, null=True, verbose_name="rows to write"
                    ),
                ),
                (
                    "rows_written",
                    models.PositiveIntegerField(
                        default=0, verbose_name="rows written"
                    ),
                ),
                (
                    "file_name",
                    models.CharField(blank=True, max_length=200, verbose_name="file"),
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
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="requested by",
                    ),
                ),
            ],
            options={
                "verbose_name": "order export",
                "verbose_name_plural": "order exports",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(
                        fields=["requested_by", "-id"], name="orders_export_owner_idx"
                    ),
                    models.Index(
                        fields=["created_at"], name="orders_export_created_idx"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="SavedOrderFilter",
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
                ("name", models.CharField(max_length=60, verbose_name="name")),
                (
                    "query",
                    models.CharField(max_length=1000, verbose_name="filters"),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="saved_order_filters",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
            ],
            options={
                "verbose_name": "saved order filter",
                "verbose_name_plural": "saved order filters",
                "ordering": ["name", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("owner", "name"), name="orders_savedfilter_owner_name"
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["-created_at", "-id"], name="orders_workbench_created_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["status", "-created_at", "-id"],
                name="orders_workbench_status_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["contact"], name="orders_contact_idx"),
        ),
        migrations.RunPython(create_recharge_index, drop_recharge_index),
    ]
