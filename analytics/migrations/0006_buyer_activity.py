# Placeholder filled by the helper that owns this slice (see /work/notes/common.md).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_reports"),
    ]

    operations = []
