"""Change versions: a counter per customer and per store that the database bumps.

`customers.cache_version` moves whenever the customer's row or any row about
them changes (ledger, lots, orders, refunds, redemptions, tier and stage
history, identities). `stores.config_version` moves whenever the store's row or
its programme (tiers, rewards, earning rules, campaigns) changes. Triggers do
the bumping, in the writer's own transaction, so every path (services, the
worker, another process, a stray script) is covered and a reader that sees an
unchanged pair knows nothing it could read has changed. The response cache
relies on it (api/versions/).

The columns are not on the ORM models on purpose: the ORM would write back the
value it loaded, and the triggers own them.

PostgreSQL only. On SQLite (the embedded development database) tortoise counts
the rows a statement changed from `total_changes`, which includes rows changed
by triggers, so triggers there would break every `update()` count; the
response cache is off on SQLite instead.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

# Frozen copies: later migrations extend these lists, they never edit them.
CUSTOMER_TABLES = (
    "customer_identities",
    "orders",
    "points_lots",
    "points_transactions",
    "redemptions",
    "stage_changes",
    "tier_changes",
)
CONFIG_TABLES = ("campaigns", "earning_rules", "rewards", "tiers")

POSTGRES_FUNCTIONS = """
ALTER TABLE customers ADD COLUMN cache_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stores ADD COLUMN config_version BIGINT NOT NULL DEFAULT 0;

-- Always one more than before, whatever the statement wrote.
CREATE OR REPLACE FUNCTION ladder_customer_row_changed() RETURNS trigger AS $$
BEGIN
    NEW.cache_version := OLD.cache_version + 1;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER customers_version BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION ladder_customer_row_changed();

CREATE OR REPLACE FUNCTION ladder_store_row_changed() RETURNS trigger AS $$
BEGIN
    NEW.config_version := OLD.config_version + 1;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER stores_version BEFORE UPDATE ON stores
    FOR EACH ROW EXECUTE FUNCTION ladder_store_row_changed();

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

-- Refunds name their order, not the customer.
CREATE OR REPLACE FUNCTION ladder_refund_changed() RETURNS trigger AS $$
BEGIN
    UPDATE customers SET cache_version = cache_version + 1
        WHERE id IN (SELECT customer_id FROM orders
                     WHERE id IN (NEW.order_id, OLD.order_id));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER order_refunds_version AFTER INSERT OR UPDATE OR DELETE ON order_refunds
    FOR EACH ROW EXECUTE FUNCTION ladder_refund_changed();

CREATE OR REPLACE FUNCTION ladder_config_changed() RETURNS trigger AS $$
BEGIN
    UPDATE stores SET config_version = config_version + 1
        WHERE id IN (NEW.store_id, OLD.store_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS customers_version ON customers;
DROP TRIGGER IF EXISTS stores_version ON stores;
DROP TRIGGER IF EXISTS order_refunds_version ON order_refunds;
{drops}
DROP FUNCTION IF EXISTS ladder_customer_row_changed();
DROP FUNCTION IF EXISTS ladder_store_row_changed();
DROP FUNCTION IF EXISTS ladder_customer_data_changed();
DROP FUNCTION IF EXISTS ladder_refund_changed();
DROP FUNCTION IF EXISTS ladder_config_changed();
ALTER TABLE customers DROP COLUMN cache_version;
ALTER TABLE stores DROP COLUMN config_version;
"""


def _postgres_forward() -> str:
    statements = [POSTGRES_FUNCTIONS]
    for table in CUSTOMER_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION ladder_customer_data_changed();"
        )
    for table in CONFIG_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION ladder_config_changed();"
        )
    return "\n".join(statements)


def _postgres_backward() -> str:
    drops = "\n".join(
        f"DROP TRIGGER IF EXISTS {table}_version ON {table};"
        for table in CUSTOMER_TABLES + CONFIG_TABLES
    )
    return POSTGRES_BACKWARD.format(drops=drops)


async def _run(schema_editor, sql: str):  # type: ignore[no-untyped-def]
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(sql)


async def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await _run(schema_editor, _postgres_forward())


async def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    await _run(schema_editor, _postgres_backward())


class Migration(migrations.Migration):
    dependencies = [("ladder", "0007_customer_tier_stage_index")]

    operations = [ops.RunPython(forward, backward)]
