from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0020_encrypted_blacklist")]

    operations = []
