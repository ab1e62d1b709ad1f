"""Gathers what the nudge rules need for one shopper."""

from datetime import timedelta

from api.core.clock import utc_now
from api.customers.models import Customer
from api.ledger.models import PointsLot
from api.membership.service import birthday_today
from api.orders.models import Order
from api.personalization import rules
from api.program.service import settings
from api.rewards import service as rewards
from api.stores.models import Store
from api.tiers import service as tiers


async def nudges_for(
    store: Store, customer: Customer, *, progress: tiers.Progress | None = None
) -> list[rules.Nudge]:
    """The nudges for one shopper; pass `progress` when it is already known."""
    now = utc_now()
    program = settings(store)
    offers = [
        rules.RewardOffer(id=str(r.id), name=r.name, cost_points=r.cost_points)
        for r in await rewards.catalogue(store, available_at=now)
    ]
    if progress is None:
        progress = await tiers.progress(store, customer, now=now)
    outlook = rules.TierOutlook(
        current=progress.current.name if progress.current else None,
        next=progress.next.name if progress.next else None,
        amount_to_next=progress.amount_to_next,
        basis=program.tier_basis.value,
        review_at=progress.review_at,
        amount_to_keep=progress.amount_to_keep,
    )
    horizon = now + timedelta(days=program.expiry_warning_days)
    expiring = await PointsLot.filter(
        store_id=store.id,
        customer_id=customer.id,
        remaining__gt=0,
        expires_at__isnull=False,
        expires_at__lte=horizon,
        expires_at__gt=now,
    ).order_by("expires_at")
    latest = (
        await Order.filter(
            store_id=store.id, customer_id=customer.id, paid_at__isnull=False
        )
        .order_by("-paid_at")
        .first()
    )
    return rules.nudges(
        now=now,
        balance=customer.points_balance,
        rewards=offers,
        tier=outlook if (progress.current or progress.next) else None,
        expiring_points=sum(lot.remaining for lot in expiring),
        expiring_at=expiring[0].expires_at if expiring else None,
        birthday_today=customer.enrolled
        and birthday_today(customer.birthday, now, store.timezone),
        latest_order=rules.RecentOrder(
            name=latest.name or latest.order_ref,
            paid_at=latest.paid_at,
            points_earned=latest.points_earned,
        )
        if latest is not None and latest.paid_at is not None
        else None,
        tier_warning_days=program.tier_warning_days,
    )
