"""Change versions move once per transaction, not once per row.

Migration 0008's trigger on the tables about a customer bumped
`customers.cache_version` for every row written: an order's payment wrote the
customer row four more times (the order, its update, the ledger entry, the
lot), each a new row version with its index entries. A reader only ever sees
committed versions, so one bump per writing transaction is enough: the trigger
now skips the customer row when this transaction already wrote it (its `xmin`
is the transaction's id, so its version already moved).

A row written inside a savepoint carries the savepoint's id instead: the
check then fails and the version moves again, which is only one write more.
PostgreSQL only, like 0008.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

# The row's version was written by this transaction (not a savepoint in it):
# xmin is 32 bits, the transaction id 64 (epoch and xid).
_WRITTEN_HERE = (
    "xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296"
)

FORWARD = f"""
CREATE OR REPLACE FUNCTION ladder_customer_data_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.customer_id IS NOT NULL THEN
        UPDATE customers SET cache_version = cache_version + 1
            WHERE id = OLD.customer_id AND NOT ({_WRITTEN_HERE});
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE'
            AND NEW.customer_id IS DISTINCT FROM OLD.customer_id) THEN
        IF NEW.customer_id IS NOT NULL THEN
            UPDATE customers SET cache_version = cache_version + 1
                WHERE id = NEW.customer_id AND NOT ({_WRITTEN_HERE});
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

# 0008's function, as it was.
BACKWARD = """
CREATE OR REPLACE FUNCTION ladder_customer_data_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.customer_id IS NOT NULL THEN
        UPDATE customers SET cache_version = cache_version + 1
            WHERE id = OLD.customer_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE'
            AND NEW.customer_id IS DISTINCT FROM OLD.customer_id) THEN
        IF NEW.customer_id IS NOT NULL THEN
            UPDATE customers SET cache_version = cache_version + 1
                WHERE id = NEW.customer_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


async def _run(schema_editor, sql: str):  # type: ignore[no-untyped-def]
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(sql)


async def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await _run(schema_editor, FORWARD)


async def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ladder", "0008_change_versions")]
    operations = [ops.RunPython(forward, backward)]
