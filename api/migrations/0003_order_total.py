from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('ladder', '0002_ledger_append_only')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Order',
            name='total_minor',
            field=fields.BigIntField(default=0, db_default=0),
        ),
    ]
