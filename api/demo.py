"""The demo store `make serve` starts with, so a newcomer has data to query."""

from dataclasses import dataclass
from datetime import date

from tortoise.transactions import in_transaction

from api.customers import service as customers
from api.customers.models import Platform
from api.customers.rules import CustomerChanges
from api.stores import service as stores
from api.stores.models import KeyKind, Store

DEMO_STORE_NAME = "Ladder Demo Store"
DEMO_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:3000"]

_DEMO_CUSTOMERS = [
    ("demo-1001", "ada@example.com", "Ada", "Lovelace", date(1985, 12, 10), True),
    ("demo-1002", "grace@example.com", "Grace", "Hopper", date(1990, 6, 9), True),
    ("demo-1003", "alan@example.com", "Alan", "Turing", date(1978, 6, 23), True),
    ("demo-1004", "katherine@example.com", "Katherine", "Johnson", None, False),
    ("demo-1005", None, "Guest", None, None, False),
]


@dataclass(frozen=True)
class DemoCredentials:
    store_id: str
    secret_key: str
    publishable_key: str
    created: bool


async def seed_demo() -> DemoCredentials:
    """Create the demo store once; on later runs issue fresh keys for it.

    Keys are only ever shown once, so each run prints a new pair (the previous
    pair stops working).
    """
    async with in_transaction():
        store = await Store.filter(name=DEMO_STORE_NAME).order_by("created_at").first()
        if store is not None:
            secret_key = await stores.rotate_key(store, KeyKind.SECRET)
            publishable_key = await stores.rotate_key(store, KeyKind.PUBLISHABLE)
            return DemoCredentials(
                str(store.id), secret_key, publishable_key, created=False
            )
        issued = await stores.create_store(
            name=DEMO_STORE_NAME,
            currency="EUR",
            timezone="Europe/Paris",
            allowed_origins=DEMO_ORIGINS,
        )
        for external_id, email, first, last, birthday, enrolled in _DEMO_CUSTOMERS:
            changes = CustomerChanges(
                {
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "birthday": birthday,
                    "marketing_consent": enrolled,
                }
            )
            result = await customers.upsert(
                issued.store,
                platform=Platform.CUSTOM,
                external_id=external_id,
                changes=changes,
            )
            if enrolled:
                await customers.enroll(issued.store, result.customer.id)
        return DemoCredentials(
            str(issued.store.id),
            issued.secret_key,
            issued.publishable_key,
            created=True,
        )
