"""Redeemed rewards become Shopify discount codes, with retries; points are
spent either way and the code's state is visible."""

import pytest
from tortoise.transactions import in_transaction

from api.connections import service as connections
from api.core.crypto import Vault
from api.customers.models import Platform
from api.ledger import service as ledger
from api.ledger.models import TransactionKind
from api.platforms import PlatformName
from api.rewards import platform_codes
from api.rewards import service as rewards
from api.rewards.models import Redemption
from api.settings import Settings
from api.stores.service import IssuedKeys
from plugins.shopify.connector import ShopifyConnector
from schema.rewards.types import PlatformCodeStatus
from schema.rewards.types import Redemption as RedemptionType
from tests.factories.customers import make_customer
from tests.factories.program import make_reward
from tests.plugins.shopify.fake_admin import SHOP, TOKEN, FakeShopifyAdmin


@pytest.fixture
def fake() -> FakeShopifyAdmin:
    return FakeShopifyAdmin(0, maximum_available=1_000_000, restore_rate=1_000_000)


async def _redeemed(store: IssuedKeys, settings: Settings) -> tuple[Redemption, Vault]:
    vault = Vault(settings.vault_key())
    await connections.connect(
        store.store,
        platform=PlatformName.SHOPIFY,
        shop_ref=SHOP,
        vault=vault,
        access_token=TOKEN,
    )
    customer = await make_customer(
        store.store, external_id="7001", platform=Platform.SHOPIFY
    )
    reward = await make_reward(store.store, cost=100)
    async with in_transaction():
        locked = await ledger.lock_customer(store.store, customer.id)
        await ledger.credit(
            store.store,
            locked,
            kind=TransactionKind.ADJUST,
            points=100,
            reason="test",
            earned_at=locked.created_at,
            hold=False,
        )
        redemption = await rewards.redeem(store.store, customer.id, reward.id)
    return redemption, vault


async def test_code_is_created_on_shopify_for_that_customer_once(
    store: IssuedKeys, settings: Settings, fake: FakeShopifyAdmin
) -> None:
    redemption, vault = await _redeemed(store, settings)
    assert redemption.platform_code_status == platform_codes.PENDING
    async with fake.http() as http:
        created = await platform_codes.push_pending(
            store.store, ShopifyConnector(), http, vault
        )
        again = await platform_codes.push_pending(
            store.store, ShopifyConnector(), http, vault
        )
    assert (created, again) == (1, 0)
    row = await Redemption.get(id=redemption.id)
    assert (row.platform_code_status, row.platform_error) == (
        platform_codes.CREATED,
        None,
    )
    [discount] = fake.discounts.values()
    assert discount.code == redemption.code
    assert row.platform_code_ref == discount.id
    # and the storefront sees it through the API
    shown = RedemptionType.from_row(row, "5 EUR off")
    assert (shown.platform_code_status, shown.platform_code_error) == (
        PlatformCodeStatus.CREATED,
        None,
    )


async def test_outage_is_retried_and_visible(
    store: IssuedKeys, settings: Settings, fake: FakeShopifyAdmin
) -> None:
    redemption, vault = await _redeemed(store, settings)
    fake.fail_next(status=503, times=100, retry_after="0")
    async with fake.http() as http:
        created = await platform_codes.push_pending(
            store.store, ShopifyConnector(), http, vault
        )
    row = await Redemption.get(id=redemption.id)
    assert created == 0
    assert (row.platform_code_status, row.platform_attempts) == (
        platform_codes.PENDING,
        1,
    )
    assert row.platform_error
    # the points are spent either way: the redemption stands
    assert row.status.value == "issued"


async def test_refused_token_fails_for_good(
    store: IssuedKeys, settings: Settings, fake: FakeShopifyAdmin
) -> None:
    redemption, vault = await _redeemed(store, settings)
    fake.revoke()
    async with fake.http() as http:
        await platform_codes.push_pending(store.store, ShopifyConnector(), http, vault)
    row = await Redemption.get(id=redemption.id)
    assert row.platform_code_status == platform_codes.FAILED
    assert row.platform_attempts == 1


async def test_stores_without_a_platform_need_no_code(store: IssuedKeys) -> None:
    customer = await make_customer(store.store)
    reward = await make_reward(store.store, cost=1)
    async with in_transaction():
        locked = await ledger.lock_customer(store.store, customer.id)
        await ledger.credit(
            store.store,
            locked,
            kind=TransactionKind.ADJUST,
            points=5,
            reason="test",
            earned_at=locked.created_at,
            hold=False,
        )
        redemption = await rewards.redeem(store.store, customer.id, reward.id)
    assert redemption.platform_code_status is None
