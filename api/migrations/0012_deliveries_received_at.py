"""The webhook inbox by time of receipt, for its retention's purge.

Deliveries processed more than `LADDER_INBOX_RETENTION_DAYS` ago are deleted by
the maintenance loop, oldest first, a batch at a time; without this index each
batch would read the whole inbox. A new delivery's entry goes to the index's
rightmost page.

On PostgreSQL the build holds a SHARE lock on the inbox while it reads every
delivery kept so far: webhooks wait for it (a platform retries those it times
out on). With a large inbox, create the index beforehand with
`CREATE INDEX CONCURRENTLY webhook_deliveries_received ...` (the same
definition): this migration then finds it. In SQL, as 0011, for that.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = (
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_received"
    " ON webhook_deliveries (received_at)"
)
BACKWARD = "DROP INDEX IF EXISTS webhook_deliveries_received"


async def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await schema_editor.client.execute_query(FORWARD)


async def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await schema_editor.client.execute_query(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ladder", "0011_pending_deliveries_index")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
