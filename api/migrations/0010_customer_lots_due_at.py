from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('ladder', '0009_versions_once_per_transaction')]

    initial = False

    # Existing customers get null ("not known"): their lots are read once,
    # at their next order or redemption, which sets it.
    operations = [
        ops.AddField(
            model_name='Customer',
            name='lots_due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
