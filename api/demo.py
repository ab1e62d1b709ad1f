"""The demo store `make serve` starts with, so a newcomer has data to query."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from api.core.clock import utc_now
from api.customers import service as customers
from api.customers.models import Platform
from api.customers.rules import CustomerChanges
from api.membership import service as membership
from api.orders import service as orders
from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.program import service as program
from api.program.rules import RuleKind
from api.rewards import service as rewards
from api.rewards.models import RewardKind
from api.stores import service as stores
from api.stores.models import KeyKind, Store
from api.tiers import service as tiers

DEMO_STORE_NAME = "Ladder Demo Store"
DEMO_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:3000"]

# external id, email, first, last, birthday, enrolled, orders (days ago, euros)
_DEMO_CUSTOMERS = [
    ("demo-1001", "ada@example.com", "Ada", "Lovelace", date(1985, 12, 10), True,
     [(200, 120), (120, 89), (40, 260), (3, 75)]),
    ("demo-1002", "grace@example.com", "Grace", "Hopper", date(1990, 6, 9), True,
     [(60, 45), (20, 38)]),
    ("demo-1003", "alan@example.com", "Alan", "Turing", date(1978, 6, 23), True,
     [(300, 510)]),
    ("demo-1004", "katherine@example.com", "Katherine", "Johnson", None, False, []),
    ("demo-1005", None, "Guest", None, None, False, [(10, 19)]),
]  # fmt: skip


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
        await _programme(issued.store)
        await _customers(issued.store)
        await _redeem(issued.store, "demo-1001", "Free shipping")
        return DemoCredentials(
            str(issued.store.id),
            issued.secret_key,
            issued.publishable_key,
            created=True,
        )


async def _programme(store: Store) -> None:
    await program.update_settings(store, {"pending_days": 0, "expiry_days": 365})
    await program.save_rule(
        store,
        program.RuleFields(
            kind=RuleKind.ORDER_SPEND,
            name="1 point per euro",
            points_per_unit=Decimal(1),
        ),
    )
    await program.save_rule(
        store, program.RuleFields(kind=RuleKind.ENROLLMENT, name="Welcome", points=50)
    )
    await program.save_rule(
        store, program.RuleFields(kind=RuleKind.BIRTHDAY, name="Birthday", points=100)
    )
    now = utc_now()
    await program.save_campaign(
        store,
        program.CampaignFields(
            name="Double points week",
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=6),
            multiplier=Decimal(2),
        ),
    )
    for name, rank, threshold, multiplier, perks in (
        ("Bronze", 0, 0, "1", ["Birthday bonus"]),
        ("Silver", 1, 20_000, "1.25", ["Free shipping over 30 EUR"]),
        ("Gold", 2, 50_000, "1.5", ["Free shipping", "Early access to sales"]),
    ):
        await tiers.save_tier(
            store,
            tiers.TierFields(
                name=name,
                rank=rank,
                threshold=threshold,
                multiplier=Decimal(multiplier),
                perks=tuple(perks),
            ),
        )
    for fields in (
        rewards.RewardFields(
            name="Free shipping", kind=RewardKind.FREE_SHIPPING, cost_points=150
        ),
        rewards.RewardFields(
            name="5 EUR off",
            kind=RewardKind.FIXED_AMOUNT,
            cost_points=250,
            value_minor=500,
        ),
        rewards.RewardFields(
            name="10% off", kind=RewardKind.PERCENTAGE, cost_points=450, percent=10
        ),
        rewards.RewardFields(
            name="Tote bag",
            kind=RewardKind.FREE_PRODUCT,
            cost_points=600,
            product_ref="TOTE-01",
            min_tier_rank=2,
            stock=25,
        ),
    ):
        await rewards.save_reward(store, fields)


async def _customers(store: Store) -> None:
    now = utc_now()
    for external_id, email, first, last, birthday, enrolled, history in _DEMO_CUSTOMERS:
        await membership.upsert(
            store,
            platform=Platform.CUSTOM,
            external_id=external_id,
            changes=CustomerChanges(
                {
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "birthday": birthday,
                    "marketing_consent": enrolled,
                }
            ),
            enroll=enrolled,
        )
        for number, (days_ago, euros) in enumerate(history, start=1):
            at = now - timedelta(days=days_ago)
            await orders.ingest(
                store,
                OrderEvent(
                    kind=OrderEventKind.PAID,
                    platform=Platform.CUSTOM.value,
                    order_ref=f"{external_id}-{number}",
                    name=f"#{external_id[-4:]}{number}",
                    customer=CustomerRef(platform="custom", external_id=external_id),
                    currency="EUR",
                    eligible_minor=euros * 100,
                    occurred_at=at,
                    updated_at=at,
                ),
            )


async def _redeem(store: Store, external_id: str, reward_name: str) -> None:
    customer = await customers.find_by_external_id(
        store, platform=Platform.CUSTOM, external_id=external_id
    )
    reward = await rewards.catalogue(store).filter(name=reward_name).first()
    if customer is not None and reward is not None:
        await rewards.redeem(store, customer.id, reward.id)
