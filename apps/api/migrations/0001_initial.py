from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("caller", models.CharField(max_length=64)),
                ("key", models.CharField(max_length=255)),
                ("fingerprint", models.CharField(help_text="SHA-256 of method, path and body.", max_length=64)),
                ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("completed", models.BooleanField(default=False)),
                ("response_status", models.PositiveSmallIntegerField(null=True)),
                ("response_body", models.BinaryField(null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("caller", "key"), name="unique_idempotency_key_per_caller")
                ],
            },
        ),
    ]
