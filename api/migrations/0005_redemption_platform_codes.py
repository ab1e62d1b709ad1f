from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('ladder', '0004_platform_connections')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Redemption',
            name='platform_attempts',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Redemption',
            name='platform_code_ref',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Redemption',
            name='platform_code_status',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Redemption',
            name='platform_error',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddIndex(
            model_name='Redemption',
            index=Index(fields=['store_id', 'platform_code_status']),
        ),
    ]
