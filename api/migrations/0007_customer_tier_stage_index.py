from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('ladder', '0006_connection_reconciled_at')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Customer',
            name=None,
            fields=['store_id', 'tier_id'],
        ),
        ops.AddIndex(
            model_name='Customer',
            index=Index(fields=['store_id', 'tier_id', 'stage']),
        ),
    ]
