"""Programme building blocks for tests: rules, tiers, rewards, orders."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from api.core.clock import utc_now
from api.customers.models import Customer
from api.membership import service as membership
from api.orders import service as orders
from api.orders.events import CustomerRef, OrderEvent, OrderEventKind
from api.orders.service import IngestResult
from api.program import service as program
from api.program.models import Campaign, EarningRule
from api.program.rules import RuleKind
from api.rewards import service as rewards
from api.rewards.models import Redemption, Reward, RewardKind
from api.stores.models import Store
from api.stores.service import IssuedKeys
from api.tiers import service as tiers
from api.tiers.models import Tier
from tests.factories.customers import make_customer


async def make_spend_rule(store: Store, per_unit: str = "1") -> EarningRule:
    return await program.save_rule(
        store,
        program.RuleFields(
            kind=RuleKind.ORDER_SPEND,
            name="Points per euro",
            points_per_unit=Decimal(per_unit),
        ),
    )


async def make_action_rule(store: Store, kind: RuleKind, points: int) -> EarningRule:
    return await program.save_rule(
        store, program.RuleFields(kind=kind, name=kind.value.title(), points=points)
    )


async def make_tier(
    store: Store, name: str, rank: int, threshold: int, multiplier: str = "1"
) -> Tier:
    return await tiers.save_tier(
        store,
        tiers.TierFields(
            name=name, rank=rank, threshold=threshold, multiplier=Decimal(multiplier)
        ),
    )


async def make_reward(
    store: Store, *, name: str = "5 EUR off", cost: int = 100, **extra: object
) -> Reward:
    fields = rewards.RewardFields(
        name=name,
        kind=RewardKind.FIXED_AMOUNT,
        cost_points=cost,
        value_minor=500,
    )
    for key, value in extra.items():
        setattr(fields, key, value)
    return await rewards.save_reward(store, fields)


def order_event(
    kind: OrderEventKind = OrderEventKind.PAID,
    *,
    ref: str = "o-1",
    customer: str = "cust-1",
    amount: int = 10_000,
    at: datetime | None = None,
    updated_at: datetime | None = None,
    refund_ref: str | None = None,
    refunded: int = 0,
    codes: tuple[str, ...] = (),
) -> OrderEvent:
    at = at or utc_now()
    return OrderEvent(
        kind=kind,
        platform="custom",
        order_ref=ref,
        customer=CustomerRef(platform="custom", external_id=customer),
        currency="EUR",
        eligible_minor=amount,
        occurred_at=at,
        updated_at=updated_at or at,
        discount_codes=codes,
        refund_ref=refund_ref,
        refunded_minor=refunded,
        name=f"#{ref}",
    )


async def ingest(store: Store, event: OrderEvent) -> IngestResult:
    async with in_transaction():
        return await orders.ingest(store, event)


@dataclass
class Everything:
    customer: Customer
    external_id: str
    tier: Tier
    reward: Reward
    redemption: Redemption
    rule: EarningRule
    campaign: Campaign
    order_ref: str


async def seed_everything(issued: IssuedKeys, *, email: str) -> Everything:
    """One of each thing a store owns: a customer with points, an order, a
    redemption, a tier, a reward, a rule and a campaign."""
    store = issued.store
    rule = await make_spend_rule(store)
    tier = await make_tier(store, "Member", 0, 0)
    campaign = await program.save_campaign(
        store,
        program.CampaignFields(
            name="Launch",
            starts_at=datetime(2020, 1, 1, tzinfo=UTC),
            ends_at=datetime(2020, 2, 1, tzinfo=UTC),
            multiplier=Decimal(2),
        ),
    )
    customer = await make_customer(store, external_id="b-secret-id", email=email)
    async with in_transaction():
        await membership.enroll(store, customer.id)
    await ingest(
        store, order_event(ref="order-b", customer="b-secret-id", amount=50_000)
    )
    reward = await make_reward(store, cost=100)
    async with in_transaction():
        redemption = await rewards.redeem(store, customer.id, reward.id)
    assert redemption.created_at > utc_now() - timedelta(minutes=1)
    return Everything(
        customer=await Customer.get(id=customer.id),
        external_id="b-secret-id",
        tier=tier,
        reward=reward,
        redemption=redemption,
        rule=rule,
        campaign=campaign,
        order_ref="order-b",
    )
