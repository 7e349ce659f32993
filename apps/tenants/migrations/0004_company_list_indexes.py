from django.conf import settings
from django.db import migrations, models

TRIGRAM_INDEX = "company_name_trgm_idx"


def trigram_index(apps, schema_editor):
    """PostgreSQL only (the SQLite demo has no pg_trgm): companies' `name~…` (contains)
    and `name=…` queries compare UPPER(name), which this GIN index answers without
    reading every company of the partner."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON tenants_company "
                          "USING gin (UPPER(name) gin_trgm_ops)")


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0003_idempotency_record_to_api'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='company',
            index=models.Index(fields=['partner', '-created', 'id'], name='company_partner_recent_idx'),
        ),
        migrations.RunPython(trigram_index, drop_trigram_index),
    ]
