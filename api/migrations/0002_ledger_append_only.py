"""The points ledger is append-only: PostgreSQL refuses UPDATE and DELETE on it.

Corrections are new entries; this trigger is the second line of defence behind
the code, so no bug or stray script can rewrite a customer's history. SQLite (the
embedded development database) keeps no such guard.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = """
CREATE OR REPLACE FUNCTION ladder_refuse_ledger_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'points_transactions is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER points_transactions_append_only
    BEFORE UPDATE OR DELETE ON points_transactions
    FOR EACH ROW EXECUTE FUNCTION ladder_refuse_ledger_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS points_transactions_append_only ON points_transactions;
DROP FUNCTION IF EXISTS ladder_refuse_ledger_change();
"""


async def _run(schema_editor, sql):  # type: ignore[no-untyped-def]
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(sql)


async def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await _run(schema_editor, FORWARD)


async def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ladder", "0001_initial")]

    operations = [ops.RunPython(forward, backward)]
