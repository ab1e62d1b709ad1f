"""The webhook inbox's index holds only the deliveries not processed yet.

`(store_id, processed_at, received_at)` took an entry for every delivery,
though most are applied before they are answered and stored done; and the
redrive, which asks across stores for the oldest unprocessed ones, could not
be led by it. A partial index on `received_at` where `processed_at IS NULL`
serves that query and stays as small as the backlog. Tortoise cannot declare
an `IS NULL` condition, hence the SQL (the same on both databases).

On PostgreSQL the build holds a SHARE lock on the inbox while it reads every
delivery kept so far: webhooks wait for it (a platform retries those it times
out on). With a large inbox, create the index beforehand with
`CREATE INDEX CONCURRENTLY webhook_deliveries_pending ...` (the same
definition): this migration then finds it and only drops the old one.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = (
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_pending"
    " ON webhook_deliveries (received_at)"
    " WHERE processed_at IS NULL"
)
BACKWARD = "DROP INDEX IF EXISTS webhook_deliveries_pending"


# One statement each, through execute_query: SQLite's execute_script commits
# the migration's transaction first (the old index's drop with it).
async def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await schema_editor.client.execute_query(FORWARD)


async def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await schema_editor.client.execute_query(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ladder", "0010_customer_lots_due_at")]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name="WebhookDelivery",
            name=None,
            fields=["store_id", "processed_at", "received_at"],
        ),
        ops.RunPython(forward, backward),
    ]
