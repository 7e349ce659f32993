"""The Idempotency-Key records move to the API kit (apps.api), keyed by the caller's id
instead of a foreign key to the partner. Records still within their 24 hours move too."""

from django.db import migrations


def move_records(apps, schema_editor):
    Old = apps.get_model("tenants", "IdempotencyRecord")
    New = apps.get_model("api", "IdempotencyRecord")
    for r in Old.objects.all():
        moved = New.objects.create(caller=str(r.partner_id), key=r.key, fingerprint=r.fingerprint,
                                   completed=r.completed, response_status=r.response_status,
                                   response_body=r.response_body)
        New.objects.filter(pk=moved.pk).update(created=r.created)  # auto_now_add set it to now


def move_back(apps, schema_editor):
    Old = apps.get_model("tenants", "IdempotencyRecord")
    New = apps.get_model("api", "IdempotencyRecord")
    for r in New.objects.all():
        moved = Old.objects.create(partner_id=int(r.caller), key=r.key, fingerprint=r.fingerprint,
                                   completed=r.completed, response_status=r.response_status,
                                   response_body=r.response_body)
        Old.objects.filter(pk=moved.pk).update(created=r.created)


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0002_audit_event"),
        ("api", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(move_records, move_back),
        migrations.DeleteModel(name="IdempotencyRecord"),
    ]
