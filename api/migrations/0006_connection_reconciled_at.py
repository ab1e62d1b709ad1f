from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('ladder', '0005_redemption_platform_codes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Connection',
            name='reconciled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
