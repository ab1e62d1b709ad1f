"""The real WooCommerce orders (read from ../shared at test time) sent through
the signed webhook endpoint: the points and ladder that follow.

By hand, at 1 point per currency unit of eligible spend:
- 727: lines 6.00 + 12.00 = 18.00 (shipping and tax excluded) -> 18 points, a guest
  known by email;
- 723: lines 9.00 + 20.00 = 29.00 of a 39.00 total -> 29 points; two amount-only
  refunds of 10.00 and 9.00 are 7.44 + 6.69 = 14.13 eligible (pro rata 29/39),
  taking back round(29 x 14.13 / 29.00) = 14: 15 left.
"""

import json

import httpx

from api.connections import service as connections
from api.core.crypto import Vault
from api.customers.models import Customer
from api.ladder.models import Stage
from api.platforms import PlatformName
from api.program import service as program
from api.settings import Settings
from api.stores.service import IssuedKeys
from plugins.woocommerce.signature import sign
from tests.factories.program import make_spend_rule
from tests.plugins.woocommerce.test_fixtures import fixture

SITE = "https://example.com"
SECRET = "fixturesecret0123456789"


async def test_fixture_orders_earn_the_right_points(
    client: httpx.AsyncClient, store: IssuedKeys, settings: Settings
) -> None:
    store.store.currency = "USD"
    await store.store.save()
    await program.update_settings(store.store, {"expiry_days": None})  # 2017 orders
    await make_spend_rule(store.store)
    await connections.connect(
        store.store,
        platform=PlatformName.WOOCOMMERCE,
        shop_ref=SITE,
        vault=Vault(settings.vault_key()),
        access_token="ck:cs",
        webhook_secret=SECRET,
    )
    for order in json.loads(fixture("rest-orders-list.json")):
        raw = json.dumps(order).encode()
        response = await client.post(
            "/webhooks/woocommerce",
            content=raw,
            headers={
                "content-type": "application/json",
                "x-wc-webhook-source": SITE + "/",
                "x-wc-webhook-topic": "order.updated",
                "x-wc-webhook-signature": sign(raw, SECRET),
            },
        )
        assert response.status_code == 200
    guest = await Customer.get(email="john.doe@example.com")
    member = await Customer.get(email="joao.silva@example.com")
    assert (guest.points_balance + guest.points_pending, guest.stage) == (
        18,
        Stage.PURCHASER,
    )
    assert (member.points_balance + member.points_pending, member.stage) == (
        15,
        Stage.PURCHASER,
    )
