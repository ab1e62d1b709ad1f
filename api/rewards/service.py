"""The rewards catalogue and redemptions: points spent atomically for a code."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from api.core import sql
from api.core.clock import utc_now
from api.ledger import service as ledger
from api.ledger.errors import InsufficientPointsError
from api.ledger.models import TransactionKind
from api.rewards import platform_codes, rules
from api.rewards.errors import RewardError, RewardErrorCode
from api.rewards.models import Redemption, RedemptionStatus, Reward, RewardKind
from api.stores.models import Store
from api.tiers.models import Tier

CODE_ATTEMPTS = 5


def terms_of(reward: Reward) -> rules.RewardTerms:
    return rules.RewardTerms(
        kind=reward.kind,
        cost_points=reward.cost_points,
        active=reward.active,
        starts_at=reward.starts_at,
        ends_at=reward.ends_at,
        stock=reward.stock,
        per_customer_limit=reward.per_customer_limit,
        min_tier_rank=reward.min_tier_rank,
        value_minor=reward.value_minor,
        percent=reward.percent,
        product_ref=reward.product_ref,
    )


def catalogue(store: Store, *, available_at: datetime | None = None) -> Any:
    """The store's rewards, cheapest first; only those on offer at a time if given."""
    query = Reward.filter(store_id=store.id)
    if available_at is not None:
        query = query.filter(
            Q(starts_at__isnull=True) | Q(starts_at__lte=available_at),
            Q(ends_at__isnull=True) | Q(ends_at__gt=available_at),
            Q(stock__isnull=True) | Q(stock__gt=0),
            active=True,
        )
    return query.order_by("cost_points", "name", "id")


async def get_reward(store: Store, reward_id: UUID) -> Reward:
    # Every redemption runs this: hand-written SQL.
    reward = await sql.fetch_model(
        Reward, "t.store_id = $1 AND t.id = $2", store.id, reward_id
    )
    if reward is None:
        raise RewardError(
            RewardErrorCode.NOT_FOUND, "No such reward.", field="rewardId"
        )
    return reward


@dataclass
class RewardFields:
    name: str
    kind: RewardKind
    cost_points: int
    description: str = ""
    value_minor: int | None = None
    percent: int | None = None
    product_ref: str | None = None
    min_order_minor: int | None = None
    min_tier_rank: int | None = None
    stock: int | None = None
    per_customer_limit: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True


async def save_reward(
    store: Store, fields: RewardFields, *, reward_id: UUID | None = None
) -> Reward:
    if not 1 <= len(fields.name.strip()) <= 100:
        raise RewardError(
            RewardErrorCode.INVALID, "Name must be 1 to 100 characters.", field="name"
        )
    reward = (
        await get_reward(store, reward_id) if reward_id else Reward(store_id=store.id)
    )
    for name, value in vars(fields).items():  # plain strings trimmed, enums kept
        setattr(reward, name, value.strip() if type(value) is str else value)
    rules.check_terms(terms_of(reward))
    await reward.save()
    return reward


async def redeem(store: Store, customer_id: UUID, reward_id: UUID) -> Redemption:
    """Spend points on a reward and issue its code, all or nothing.

    The customer row is locked first, so concurrent redemptions queue up and a
    balance that covers one reward pays for exactly one.
    """
    customer = await ledger.lock_customer(store, customer_id)
    reward = await get_reward(store, reward_id)
    now = utc_now()
    await ledger.settle(store, customer, now=now)
    # The tier and the count of past redemptions matter only to rewards with
    # those terms: most have neither, and this path runs under the row lock.
    tier_rank = None
    if reward.min_tier_rank is not None and customer.tier_id is not None:
        tier = await Tier.get_or_none(store_id=customer.store_id, id=customer.tier_id)
        tier_rank = tier.rank if tier else None
    redeemed = 0
    if reward.per_customer_limit is not None:
        redeemed = (
            await Redemption.filter(
                store_id=store.id, customer_id=customer.id, reward_id=reward.id
            )
            .exclude(status=RedemptionStatus.CANCELLED)
            .count()
        )
    rules.check_redeemable(
        terms_of(reward), now=now, tier_rank=tier_rank, redeemed_by_customer=redeemed
    )
    if reward.cost_points > customer.points_balance:
        raise RewardError(
            RewardErrorCode.INSUFFICIENT_POINTS,
            f"Needs {reward.cost_points} points; {customer.points_balance} are available.",
            field="rewardId",
        )
    if reward.stock is not None:
        # Conditional decrement: the last item goes to exactly one customer.
        taken = await Reward.filter(id=reward.id, stock__gt=0).update(
            stock=F("stock") - 1
        )
        if not taken:
            raise RewardError(
                RewardErrorCode.OUT_OF_STOCK,
                "This reward is out of stock.",
                field="rewardId",
            )
    redemption = await _issue(
        store, customer.id, reward, await platform_codes.status_for_new(store)
    )
    try:
        await ledger.debit(
            store,
            customer,
            kind=TransactionKind.REDEEM,
            points=reward.cost_points,
            reason=f"Redeemed {reward.name}",
            source=ledger.Source("redemption", str(redemption.id)),
            now=now,
        )
    except InsufficientPointsError as error:
        raise RewardError(
            RewardErrorCode.INSUFFICIENT_POINTS, error.message, field="rewardId"
        ) from error
    return redemption


async def _issue(
    store: Store, customer_id: UUID, reward: Reward, platform_code_status: str | None
) -> Redemption:
    for _ in range(CODE_ATTEMPTS):
        try:
            async with in_transaction():
                return await Redemption.create(
                    store_id=store.id,
                    customer_id=customer_id,
                    reward_id=reward.id,
                    code=rules.new_code(),
                    points_spent=reward.cost_points,
                    platform_code_status=platform_code_status,
                )
        except IntegrityError:  # a code collision: ~2^-79 per pair, but never reuse one
            continue
    raise RuntimeError("could not draw a unique reward code")


async def get_redemption(store: Store, redemption_id: UUID) -> Redemption:
    found = await Redemption.get_or_none(store_id=store.id, id=redemption_id)
    if found is None:
        raise RewardError(RewardErrorCode.NOT_FOUND, "No such redemption.", field="id")
    return found


async def cancel(store: Store, redemption_id: UUID) -> Redemption:
    """Cancel an unused redemption and give its points back (as a new lot)."""
    found = await get_redemption(store, redemption_id)
    customer = await ledger.lock_customer(store, found.customer_id)  # type: ignore[arg-type]
    redemption = await Redemption.filter(id=found.id).select_for_update().first()
    if redemption is None:  # pragma: no cover - just read above
        raise RewardError(RewardErrorCode.NOT_FOUND, "No such redemption.", field="id")
    if redemption.status is RedemptionStatus.USED:
        raise RewardError(
            RewardErrorCode.ALREADY_USED, "The code was already used.", field="id"
        )
    if redemption.status is RedemptionStatus.CANCELLED:
        raise RewardError(
            RewardErrorCode.ALREADY_CANCELLED,
            "The redemption was already cancelled.",
            field="id",
        )
    now = utc_now()
    redemption.status = RedemptionStatus.CANCELLED
    redemption.cancelled_at = now
    await redemption.save(update_fields=["status", "cancelled_at"])
    await Reward.filter(id=redemption.reward_id, stock__isnull=False).update(
        stock=F("stock") + 1
    )
    reward = await Reward.get(id=redemption.reward_id)
    await ledger.credit(
        store,
        customer,
        kind=TransactionKind.REVERSE,
        points=redemption.points_spent,
        reason=f"Returned: {reward.name} cancelled",
        earned_at=now,
        source=ledger.Source("redemption", str(redemption.id)),
        hold=False,
        now=now,
    )
    return redemption


async def mark_used(store: Store, codes: list[str], *, order_ref: str) -> int:
    """Codes seen in an order are used; returns how many this call marked."""
    normalized = [
        code
        for code in (rules.normalize_code(c) for c in codes)
        if rules.may_be_issued(code)
    ]
    if not normalized:  # none of Ladder's: the usual case, with no query
        return 0
    return await Redemption.filter(
        store_id=store.id, code__in=normalized, status=RedemptionStatus.ISSUED
    ).update(status=RedemptionStatus.USED, used_at=utc_now(), used_order_ref=order_ref)


def redemptions_of(store: Store, customer_id: UUID) -> Any:
    return (
        Redemption.filter(store_id=store.id, customer_id=customer_id)
        .select_related("reward")
        .order_by("-created_at", "-id")
    )
