"""Create the five role groups. Their permissions are set by users.roles.sync_roles,
which runs after every migrate (permissions of later apps do not exist yet here)."""

from django.db import migrations

ROLE_GROUPS = ["超级管理员", "运营专员", "客服", "营销", "财务"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
