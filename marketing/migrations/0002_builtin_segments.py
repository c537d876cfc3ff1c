"""The five built-in segments (their rules are code: marketing.segments)."""

from django.db import migrations

BUILTIN = [
    ("high_value", "高价值买家", "消费金额位于前五分之一（M 分 5）"),
    ("low_frequency", "低频买家", "买过，但购买次数偏少（F 分 1–2）"),
    ("would_be", "潜在买家", "近期浏览或收藏过商品，但从未下单"),
    ("dormant", "沉睡买家", "买过，但近期没有再下单"),
    ("new", "新买家", "最近注册的买家"),
]


def create(apps, schema_editor):
    Segment = apps.get_model("marketing", "Segment")
    for code, name, description in BUILTIN:
        Segment.objects.get_or_create(
            builtin=code, defaults={"name": name, "description": description}
        )


def remove(apps, schema_editor):
    apps.get_model("marketing", "Segment").objects.exclude(builtin="").delete()


class Migration(migrations.Migration):
    dependencies = [("marketing", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
