"""A feed Xero refused is `refused` (it was `failed`, too close to a push's `Failed`),
and the push operation's never-written `changes` column goes."""

from django.db import migrations, models


def rename(old, new):
    def forwards(apps, schema_editor):
        apps.get_model("feeds", "FeedConnection").objects.filter(status=old).update(status=new)

    return forwards


class Migration(migrations.Migration):

    dependencies = [
        ("feeds", "0003_delivered_on_push_operation"),
    ]

    operations = [
        migrations.RemoveField(model_name="pushoperation", name="changes"),
        migrations.AlterField(
            model_name="feedconnection",
            name="status",
            field=models.CharField(
                choices=[("connecting", "Connecting"), ("connected", "Connected"), ("refused", "Refused"),
                         ("disconnected", "Disconnected")],
                default="connecting", max_length=16),
        ),
        migrations.RunPython(rename("failed", "refused"), rename("refused", "failed")),
    ]
