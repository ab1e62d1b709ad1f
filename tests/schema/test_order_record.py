"""orderRecord over GraphQL: idempotency keys, repeated and stale events, bad input."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.customers.models import Customer
from api.idempotency.models import IdempotencyRecord
from api.ledger.models import PointsTransaction
from api.orders.models import Order
from api.stores.service import IssuedKeys
from tests.factories.program import make_spend_rule
from tests.graphql import GraphQLClient

ORDER = """
mutation($i: OrderRecordInput!) {
  orderRecord(input: $i) {
    applied pointsEarned pointsReversed
    order { id orderRef name status eligible { amountMinor currency }
            refunded { amountMinor } pointsEarned pointsReversed discountCodes }
    userErrors { field code message }
  }
}
"""
PAID_AT = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def _input(key: str, **changes: Any) -> dict[str, Any]:
    return {
        "i": {
            "kind": "PAID",
            "orderRef": "A-1",
            "name": "#A-1",
            "customer": {"externalId": "cust-1"},
            "currency": "EUR",
            "eligibleMinor": 4990,
            "occurredAt": PAID_AT.isoformat(),
            "idempotencyKey": key,
            **changes,
        }
    }


async def _counts(store: IssuedKeys) -> tuple[int, int]:
    return (
        await Order.filter(store_id=store.store.id).count(),
        await PointsTransaction.filter(store_id=store.store.id).count(),
    )


async def _balance(store: IssuedKeys) -> int:
    customer = await Customer.get(store_id=store.store.id)
    return customer.points_balance


@pytest.fixture
async def spend_rule(store: IssuedKeys) -> None:
    await make_spend_rule(store.store, "1")


@pytest.mark.usefixtures("spend_rule")
async def test_same_key_returns_the_first_payload_and_credits_once(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # when the same call is retried with its key
    first = await gql(ORDER, _input("k-1"), key=store.secret_key)
    retry = await gql(ORDER, _input("k-1"), key=store.secret_key)
    # then the retry gets the first answer, and the points were given once
    assert first.errors == []
    assert first.data["orderRecord"]["applied"] is True
    assert first.data["orderRecord"]["pointsEarned"] == 49
    assert first.data["orderRecord"]["order"]["status"] == "PAID"
    assert first.data["orderRecord"]["order"]["eligible"] == {
        "amountMinor": 4990,
        "currency": "EUR",
    }
    assert retry.data == first.data
    assert await _counts(store) == (1, 1)
    assert await _balance(store) == 49


@pytest.mark.usefixtures("spend_rule")
async def test_same_key_with_different_input_is_key_reused(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await gql(ORDER, _input("k-1"), key=store.secret_key)
    # when the key comes back with another amount
    reused = await gql(ORDER, _input("k-1", eligibleMinor=9990), key=store.secret_key)
    # then
    assert reused.errors == []
    assert reused.data["orderRecord"] == {
        "applied": False,
        "pointsEarned": 0,
        "pointsReversed": 0,
        "order": None,
        "userErrors": [
            {
                "field": "idempotencyKey",
                "code": "KEY_REUSED",
                "message": "This idempotencyKey was already used for a different request.",
            }
        ],
    }
    assert await _counts(store) == (1, 1)
    assert await _balance(store) == 49


@pytest.mark.usefixtures("spend_rule")
async def test_same_event_with_a_new_key_changes_nothing(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    first = await gql(ORDER, _input("k-1"), key=store.secret_key)
    # when a platform redelivers the event under a fresh key
    again = await gql(ORDER, _input("k-2"), key=store.secret_key)
    # then it is recognised as a repeat
    assert again.data["orderRecord"]["applied"] is False
    assert again.data["orderRecord"]["pointsEarned"] == 0
    assert again.data["orderRecord"]["userErrors"] == []
    assert (
        again.data["orderRecord"]["order"]["id"]
        == first.data["orderRecord"]["order"]["id"]
    )
    assert await _counts(store) == (1, 1)
    assert await _balance(store) == 49


@pytest.mark.usefixtures("spend_rule")
async def test_an_older_snapshot_changes_nothing(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given an unpaid order whose latest snapshot is from 12:00
    newer = await gql(
        ORDER,
        _input(
            "k-new",
            kind="UPDATED",
            eligibleMinor=5000,
            occurredAt=PAID_AT.isoformat(),
        ),
        key=store.secret_key,
    )
    # when a snapshot from 11:00 arrives late, with another amount
    older = await gql(
        ORDER,
        _input(
            "k-old",
            kind="UPDATED",
            eligibleMinor=9000,
            occurredAt=(PAID_AT - timedelta(hours=1)).isoformat(),
        ),
        key=store.secret_key,
    )
    # then it is ignored
    assert newer.data["orderRecord"]["applied"] is True
    assert newer.data["orderRecord"]["order"]["status"] == "PLACED"
    assert older.data["orderRecord"]["applied"] is False
    assert older.data["orderRecord"]["userErrors"] == []
    assert older.data["orderRecord"]["order"]["eligible"]["amountMinor"] == 5000
    # and an explicit updatedAt older than the snapshot is ignored too
    stale = await gql(
        ORDER,
        _input(
            "k-stale",
            kind="UPDATED",
            eligibleMinor=7000,
            occurredAt=(PAID_AT + timedelta(hours=1)).isoformat(),
            updatedAt=(PAID_AT - timedelta(minutes=1)).isoformat(),
        ),
        key=store.secret_key,
    )
    assert stale.data["orderRecord"]["applied"] is False
    assert stale.data["orderRecord"]["order"]["eligible"]["amountMinor"] == 5000
    assert await _counts(store) == (1, 0)


@pytest.mark.usefixtures("spend_rule")
async def test_a_stale_paid_snapshot_gives_no_points(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given a paid order, then a newer update of it
    await gql(ORDER, _input("k-paid"), key=store.secret_key)
    await gql(
        ORDER,
        _input(
            "k-upd",
            kind="UPDATED",
            occurredAt=(PAID_AT + timedelta(hours=2)).isoformat(),
        ),
        key=store.secret_key,
    )
    # when an older PAID snapshot comes in late under a new key
    late = await gql(
        ORDER,
        _input("k-late", occurredAt=(PAID_AT + timedelta(hours=1)).isoformat()),
        key=store.secret_key,
    )
    # then
    assert late.data["orderRecord"]["applied"] is False
    assert late.data["orderRecord"]["pointsEarned"] == 0
    assert await _counts(store) == (1, 1)
    assert await _balance(store) == 49


@pytest.mark.usefixtures("spend_rule")
async def test_payment_delivered_after_a_newer_update_still_earns(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given an update of the order made after payment, delivered first
    await gql(
        ORDER,
        _input(
            "k-upd",
            kind="UPDATED",
            occurredAt=(PAID_AT + timedelta(hours=1)).isoformat(),
        ),
        key=store.secret_key,
    )
    # when the payment itself arrives
    paid = await gql(ORDER, _input("k-paid"), key=store.secret_key)
    # then the order is paid and earns its points
    assert paid.data["orderRecord"]["order"]["status"] == "PAID"
    assert paid.data["orderRecord"]["pointsEarned"] == 49


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"currency": "USD"}, "currency", "CURRENCY_MISMATCH"),
        ({"eligibleMinor": -1}, "eligibleMinor", "INVALID"),
        ({"customer": {}}, "customer", "CUSTOMER_REQUIRED"),
        (
            {"kind": "REFUNDED", "refundedMinor": 4990},
            "refundRef",
            "INVALID",
        ),
        ({"orderRef": "   "}, "orderRef", "INVALID"),
        ({"orderRef": "x" * 129}, "orderRef", "INVALID"),
        ({"refundedMinor": -5}, "refundedMinor", "INVALID"),
        ({"idempotencyKey": "  "}, "idempotencyKey", "INVALID_KEY"),
        ({"idempotencyKey": "k" * 201}, "idempotencyKey", "INVALID_KEY"),
    ],
)
@pytest.mark.usefixtures("spend_rule")
async def test_bad_input_is_a_user_error_and_writes_nothing(
    gql: GraphQLClient,
    store: IssuedKeys,
    changes: dict[str, Any],
    field: str,
    code: str,
) -> None:
    # when
    result = await gql(ORDER, _input("k-bad", **changes), key=store.secret_key)
    # then
    assert result.errors == []
    payload = result.data["orderRecord"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert payload["order"] is None
    assert payload["applied"] is False
    assert await _counts(store) == (0, 0)
    assert await Customer.filter(store_id=store.store.id).count() == 0
    assert await IdempotencyRecord.filter(store_id=store.store.id).count() == 0


@pytest.mark.usefixtures("spend_rule")
async def test_a_rejected_call_does_not_burn_its_key(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given a call rejected for its currency
    rejected = await gql(ORDER, _input("k-1", currency="USD"), key=store.secret_key)
    # when the caller fixes the input and retries with the same key
    fixed = await gql(ORDER, _input("k-1"), key=store.secret_key)
    # then the fix is applied
    assert rejected.data["orderRecord"]["userErrors"][0]["code"] == "CURRENCY_MISMATCH"
    assert fixed.data["orderRecord"]["userErrors"] == []
    assert fixed.data["orderRecord"]["applied"] is True
    assert await _counts(store) == (1, 1)


@pytest.mark.usefixtures("spend_rule")
async def test_too_many_discount_codes_is_a_top_level_error(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    codes = [f"CODE-{i}" for i in range(51)]
    result = await gql(ORDER, _input("k-1", discountCodes=codes), key=store.secret_key)
    assert result.data == {"orderRecord": None}
    assert result.error_codes == ["BAD_USER_INPUT"]
    assert await _counts(store) == (0, 0)


@pytest.mark.usefixtures("spend_rule")
async def test_partial_refunds_are_pro_rata_and_each_refund_counts_once(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    # given a paid order worth 100 points
    await gql(ORDER, _input("k-paid", eligibleMinor=10000), key=store.secret_key)

    def refund(key: str, ref: str, minor: int) -> dict[str, Any]:
        return _input(
            key,
            kind="REFUNDED",
            eligibleMinor=10000,
            refundRef=ref,
            refundedMinor=minor,
            occurredAt=(PAID_AT + timedelta(days=1)).isoformat(),
        )

    # when a third is refunded, the same refund arrives again, then the rest
    third = await gql(ORDER, refund("k-r1", "r-1", 3333), key=store.secret_key)
    repeat = await gql(ORDER, refund("k-r1-again", "r-1", 3333), key=store.secret_key)
    rest = await gql(ORDER, refund("k-r2", "r-2", 6667), key=store.secret_key)
    # then 33 then 67 points come back, never the repeat
    assert third.data["orderRecord"]["pointsReversed"] == 33
    assert third.data["orderRecord"]["order"]["status"] == "PARTIALLY_REFUNDED"
    assert third.data["orderRecord"]["order"]["refunded"] == {"amountMinor": 3333}
    assert repeat.data["orderRecord"]["applied"] is False
    assert repeat.data["orderRecord"]["pointsReversed"] == 0
    assert rest.data["orderRecord"]["pointsReversed"] == 67
    assert rest.data["orderRecord"]["order"]["status"] == "REFUNDED"
    assert rest.data["orderRecord"]["order"]["pointsReversed"] == 100
    assert await _balance(store) == 0
    assert await _counts(store) == (1, 3)


@pytest.mark.usefixtures("spend_rule")
async def test_cancelling_a_paid_order_takes_its_points_back(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await gql(ORDER, _input("k-paid"), key=store.secret_key)
    cancelled = await gql(
        ORDER,
        _input(
            "k-cancel",
            kind="CANCELLED",
            occurredAt=(PAID_AT + timedelta(hours=1)).isoformat(),
        ),
        key=store.secret_key,
    )
    assert cancelled.data["orderRecord"]["applied"] is True
    assert cancelled.data["orderRecord"]["pointsReversed"] == 49
    assert cancelled.data["orderRecord"]["order"]["status"] == "CANCELLED"
    assert await _balance(store) == 0


async def test_guest_orders_are_matched_by_email(
    gql: GraphQLClient, store: IssuedKeys
) -> None:
    await make_spend_rule(store.store, "1")
    guest = {"email": " Guest@Example.com "}
    first = await gql(
        ORDER, _input("k-1", customer=guest, orderRef="G-1"), key=store.secret_key
    )
    second = await gql(
        ORDER, _input("k-2", customer=guest, orderRef="G-2"), key=store.secret_key
    )
    assert first.data["orderRecord"]["pointsEarned"] == 49
    assert second.data["orderRecord"]["pointsEarned"] == 49
    customer = await Customer.get(store_id=store.store.id)
    assert (customer.email, customer.points_balance, customer.paid_orders) == (
        "guest@example.com",
        98,
        2,
    )


async def test_needs_the_secret_key(gql: GraphQLClient, store: IssuedKeys) -> None:
    result = await gql(ORDER, _input("k-1"), key=store.publishable_key)
    assert result.data == {"orderRecord": None}
    assert result.error_codes == ["FORBIDDEN"]
    assert await _counts(store) == (0, 0)
