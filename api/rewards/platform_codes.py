"""Reward codes on the store's platform: a redeemed reward becomes a real
discount code there (Shopify) so the shopper can use it at checkout.

Pushing happens after the redemption commits (the maintenance loop, every
minute), with retries. The points are spent either way: a code that cannot be
created shows `failed` with the reason, and the merchant can cancel the
redemption to return the points.
"""

import logging
from datetime import timedelta

from tortoise.transactions import in_transaction

from api.connections import service as connections
from api.connections.models import Connection
from api.core import sql
from api.core.crypto import Vault
from api.customers.models import Customer, CustomerIdentity
from api.platforms import (
    Connector,
    DiscountCodeRequest,
    PlatformCallError,
    PlatformName,
)
from api.rewards.models import Redemption, RedemptionStatus, Reward
from api.stores.models import Store

logger = logging.getLogger("ladder.rewards")
PENDING = "pending"
CREATED = "created"
FAILED = "failed"
MAX_ATTEMPTS = 8
VALIDITY = timedelta(days=365)


async def status_for_new(store: Store) -> str | None:
    """How a new redemption's platform code starts: pending (to be pushed)
    when the store has a connected platform, none otherwise."""
    if await Connection.exists(store_id=store.id, active=True):
        return PENDING
    return None


async def push_pending(
    store: Store, connector: Connector, http: object, vault: Vault, *, limit: int = 100
) -> int:
    """Create pending codes on the platform; returns how many were created."""
    connection = await connections.for_store(store, connector.platform)
    if connection is None:
        return 0
    token = await connections.access_token(connection, vault, connector, http)
    if not token:
        return 0
    client = connector.client(http, shop_ref=connection.shop_ref, access_token=token)
    created = 0
    pending = (
        await Redemption.filter(
            store_id=store.id,
            platform_code_status=PENDING,
            status=RedemptionStatus.ISSUED,
            platform_attempts__lt=MAX_ATTEMPTS,
        )
        .order_by("created_at")
        .limit(limit)
    )
    for redemption in pending:
        request = await _request(store, redemption, connector.platform)
        try:
            ref = await client.create_discount_code(request)
        except PlatformCallError as error:
            await _failed(redemption, error)
            continue
        async with in_transaction():
            await _lock_owner(redemption)
            await Redemption.filter(id=redemption.id).update(
                platform_code_status=CREATED,
                platform_code_ref=ref,
                platform_attempts=redemption.platform_attempts + 1,
                platform_error=None,
            )
        created += 1
    return created


async def _request(
    store: Store, redemption: Redemption, platform: PlatformName
) -> DiscountCodeRequest:
    reward = await Reward.get(id=redemption.reward_id)
    identity = await CustomerIdentity.get_or_none(
        store_id=store.id, customer_id=redemption.customer_id, platform=platform.value
    )
    return DiscountCodeRequest(
        code=redemption.code,
        title=f"{reward.name} ({redemption.code})",
        kind=reward.kind.value,
        currency=store.currency,
        value_minor=reward.value_minor,
        percent=reward.percent,
        product_ref=reward.product_ref,
        min_order_minor=reward.min_order_minor,
        customer_external_id=identity.external_id if identity else None,
        ends_at=redemption.created_at + VALIDITY,
    )


async def _failed(redemption: Redemption, error: PlatformCallError) -> None:
    attempts = redemption.platform_attempts + 1
    final = not error.retryable or attempts >= MAX_ATTEMPTS
    logger.warning("reward code %s not created: %s", redemption.id, error)
    async with in_transaction():
        await _lock_owner(redemption)
        await Redemption.filter(id=redemption.id).update(
            platform_attempts=attempts,
            platform_error=str(error)[:500],
            platform_code_status=FAILED if final else PENDING,
        )


async def _lock_owner(redemption: Redemption) -> None:
    """Lock the customer before their redemption: the order every other path
    takes (a cancellation locks the customer, then the redemption), which the
    change-version trigger (migration 0008) would otherwise reverse."""
    await sql.fetch_model(
        Customer, "t.id = $1", redemption.customer_id, lock="FOR UPDATE"
    )
