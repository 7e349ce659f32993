"""Delivery is recorded once per push operation instead of on each of its transactions:
recording Xero's answer then writes one row, not one per transaction. Storing a batch
keeps one index on the account (the composite one) and no per-row foreign key checks."""

from django.db import migrations, models


def copy_delivered(apps, schema_editor):
    PushOperation = apps.get_model("feeds", "PushOperation")
    PushOperation.objects.filter(transactions__delivered=True).update(delivered=True)


def copy_back(apps, schema_editor):
    BankTransaction = apps.get_model("feeds", "BankTransaction")
    BankTransaction.objects.filter(push_operation__delivered=True).update(delivered=True)


class Migration(migrations.Migration):

    dependencies = [
        ("feeds", "0002_push_statement_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="pushoperation",
            name="delivered",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(copy_delivered, copy_back),
        migrations.RemoveConstraint(
            model_name="banktransaction",
            name="unique_delivered_transaction",
        ),
        migrations.RemoveField(
            model_name="banktransaction",
            name="delivered",
        ),
        migrations.AlterField(
            model_name="banktransaction",
            name="source_account",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=models.deletion.CASCADE,
                                    related_name="transactions", to="feeds.sourceaccount"),
        ),
        migrations.AlterField(
            model_name="banktransaction",
            name="push_operation",
            field=models.ForeignKey(db_constraint=False, on_delete=models.deletion.CASCADE,
                                    related_name="transactions", to="feeds.pushoperation"),
        ),
    ]
