"""Database chores the reliability tests run in a subprocess of their own, so the
test process never opens the ORM on the throwaway cluster (tortoise keeps one
global configuration per process, and the rest of the suite owns it).

    python -m tests.reliability.ops seed DATABASE_URL SECRET_KEY CUSTOMERS
    python -m tests.reliability.ops redrive DATABASE_URL
"""

import asyncio
import json
import sys
from uuid import UUID

from pydantic import SecretStr
from tortoise import Tortoise

from api import db
from api.app import platform_connectors
from api.connections import service as connections
from api.core.crypto import Vault
from api.inbox import service as inbox
from api.inbox.models import WebhookDelivery
from api.platforms import PlatformName
from api.settings import Settings
from tests.factories import shopify
from tests.factories.customers import make_customer
from tests.factories.program import make_spend_rule
from tests.factories.stores import make_store
from tests.graphql import global_id


async def seed(url: str, secret_key: str, customers: int) -> dict[str, object]:
    """A migrated database with one store, its Shopify shop, 1 point per euro and
    `customers` customers to adjust."""
    await db.migrate(Settings(database_url=url, secret_key=SecretStr(secret_key)))
    await Tortoise.init(config=db.tortoise_config(url))
    try:
        issued = await make_store(name="Reliability")
        await make_spend_rule(issued.store)
        await connections.connect(
            issued.store,
            platform=PlatformName.SHOPIFY,
            shop_ref=shopify.SHOP,
            vault=Vault(secret_key),
            access_token="shpat_test",
            webhook_secret=shopify.SECRET,
        )
        ids = [
            global_id(
                "Customer",
                (await make_customer(issued.store, external_id=f"adj-{n}")).id,
            )
            for n in range(customers)
        ]
        return {"secret_key": issued.secret_key, "customers": ids}
    finally:
        await Tortoise.close_connections()


async def redrive(url: str) -> dict[str, object]:
    """What the maintenance loop's redrive does, without its 30 s grace period:
    process every stored delivery that is not processed yet."""
    await Tortoise.init(config=db.tortoise_config(url))
    try:
        due = await WebhookDelivery.filter(processed_at__isnull=True).values_list(
            "id", flat=True
        )
        connectors = platform_connectors()
        done = [await inbox.process(UUID(str(i)), connectors) for i in due]
        return {"due": len(due), "processed": sum(done)}
    finally:
        await Tortoise.close_connections()


def main(argv: list[str]) -> None:
    command, url, *rest = argv
    if command == "seed":
        result = asyncio.run(seed(url, rest[0], int(rest[1])))
    elif command == "redrive":
        result = asyncio.run(redrive(url))
    else:
        raise SystemExit(f"unknown command {command}")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
