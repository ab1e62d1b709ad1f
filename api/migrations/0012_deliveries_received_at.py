"""The processed webhook deliveries by time of receipt, for the retention.

Deliveries received more than `LADDER_INBOX_RETENTION_DAYS` ago, once
processed, are deleted by the maintenance loop, oldest first, a batch at a
time; without this index each batch would read the whole inbox. It is
partial, the complement of 0011's: those not processed yet are the redrive's.
A new delivery's entry goes to the index's rightmost page.

On PostgreSQL it is built CONCURRENTLY, outside a transaction (the migration
is not atomic): webhooks keep being stored while it reads the inbox, which is
at its largest before its first purge. An invalid index left by a failed
build is dropped and built again. Tortoise cannot declare an `IS NOT NULL`
condition, hence the SQL, one statement each through `execute_query` (as in
0011).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

NAME = "webhook_deliveries_received"
DEFINITION = "ON webhook_deliveries (received_at) WHERE processed_at IS NOT NULL"
INVALID = (
    "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
    f" WHERE c.relname = '{NAME}' AND NOT i.indisvalid"
)


async def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        await client.execute_query(f"CREATE INDEX IF NOT EXISTS {NAME} {DEFINITION}")
        return
    _, invalid = await client.execute_query(INVALID)
    if invalid:
        await client.execute_query(f"DROP INDEX CONCURRENTLY {NAME}")
    await client.execute_query(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} {DEFINITION}"
    )


async def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await schema_editor.client.execute_query(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("ladder", "0011_pending_deliveries_index")]

    initial = False
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    operations = [ops.RunPython(forward, backward)]
