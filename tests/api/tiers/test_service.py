"""Tiers on the database: upgrades at once, downgrades only at review, overrides."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import time_machine
from tortoise.transactions import in_transaction

from api.core import sql
from api.customers.models import Customer
from api.ledger import service as ledger
from api.maintenance import service as maintenance
from api.orders.events import OrderEventKind
from api.program import service as program
from api.program.rules import TierBasis, TierWindow
from api.stores.models import Store
from api.stores.service import IssuedKeys
from api.tiers import service as tiers
from api.tiers.models import Tier, TierChange
from tests.api.ledger.test_service import assert_ledger_consistent
from tests.factories.program import ingest, make_spend_rule, make_tier, order_event
from tests.graphql import count_queries

T0 = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


async def _ladder(store: Store) -> tuple[Tier, Tier, Tier]:
    bronze = await make_tier(store, "Bronze", 0, 0)
    silver = await make_tier(store, "Silver", 1, 20_000)
    gold = await make_tier(store, "Gold", 2, 50_000)
    return bronze, silver, gold


async def _order(
    store: Store, customer: str, ref: str, amount: int, at: datetime
) -> UUID:
    """An order paid a minute before `at`, ingested at `at`."""
    with time_machine.travel(at, tick=False):
        result = await ingest(
            store,
            order_event(
                ref=ref, customer=customer, amount=amount, at=at - timedelta(minutes=1)
            ),
        )
    customer_id = result.order.customer_id
    assert isinstance(customer_id, UUID)
    return customer_id


async def _spend_reads(store: Store, first: int, second: int) -> tuple[UUID, list[str]]:
    """A customer's first paid order, then the statements of their second
    that read the spend."""
    customer_id = await _order(store, "c", "o-1", first, T0)
    with count_queries() as counter:
        await _order(store, "c", "o-2", second, T0 + timedelta(days=1))
    return customer_id, [q for q in counter.statements if "SUM(" in q.upper()]


async def _changes(customer_id: UUID) -> list[tuple[UUID | None, UUID | None, str]]:
    rows = await TierChange.filter(customer_id=customer_id).order_by("created_at")
    return [(r.from_tier_id, r.to_tier_id, r.reason.value) for r in rows]


async def _evaluate(store: Store, customer_id: UUID) -> TierChange | None:
    async with in_transaction():
        customer = await ledger.lock_customer(store, customer_id)
        return await tiers.evaluate(store, customer, note="test")


async def _override(store: Store, customer_id: UUID, tier: Tier | None) -> None:
    async with in_transaction():
        customer = await ledger.lock_customer(store, customer_id)
        await tiers.override(store, customer, tier, note="merchant decision")


async def test_downgrade_only_at_review_and_requalified_customers_keep_their_tier(
    store: IssuedKeys,
) -> None:
    # given two Gold customers (rolling 365-day window); only Bea buys again
    s = store.store
    await make_spend_rule(s)
    bronze, _, gold = await _ladder(s)
    ann = await _order(s, "ann", "a-1", 60_000, T0)
    bea = await _order(s, "bea", "b-1", 60_000, T0)
    await _order(s, "bea", "b-2", 55_000, T0 + timedelta(days=200))
    for customer_id in (ann, bea):
        customer = await Customer.get(id=customer_id)
        assert (customer.tier_id, customer.tier_review_at) == (gold.id, T0 + YEAR)

    # when maintenance runs the day before the review: nothing happens
    before = await maintenance.run(now=T0 + YEAR - timedelta(days=1))
    assert before.tiers_reviewed == 0

    # when it runs after the review date
    with time_machine.travel(T0 + YEAR + timedelta(hours=1), tick=False):
        report = await maintenance.run()
        repeat = await maintenance.run()

    # then Ann, who did not requalify, is downgraded, with a review a year on
    assert (report.tiers_reviewed, repeat.tiers_reviewed) == (2, 0)
    ann_now = await assert_ledger_consistent(ann)
    assert ann_now.tier_id == bronze.id
    assert ann_now.tier_review_at == T0 + YEAR + timedelta(hours=1) + YEAR
    assert await _changes(ann) == [
        (None, gold.id, "qualified"),
        (gold.id, bronze.id, "downgraded"),
    ]
    downgrade = await TierChange.get(customer_id=ann, reason="downgraded")
    assert downgrade.note == "tier review"
    # and Bea, who spent 550 EUR in the judged year, keeps Gold until the next review
    bea_now = await assert_ledger_consistent(bea)
    assert bea_now.tier_id == gold.id
    assert bea_now.tier_review_at == T0 + YEAR + timedelta(hours=1) + YEAR
    assert await _changes(bea) == [(None, gold.id, "qualified")]


async def test_downgrade_goes_to_the_tier_the_judged_spend_reaches(
    store: IssuedKeys,
) -> None:
    s = store.store
    _, silver, gold = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 60_000, T0)
    await _order(s, "c", "o-2", 25_000, T0 + timedelta(days=100))

    with time_machine.travel(T0 + YEAR + timedelta(minutes=1), tick=False):
        await maintenance.run()

    assert (await Customer.get(id=customer_id)).tier_id == silver.id
    assert (await _changes(customer_id))[-1] == (gold.id, silver.id, "downgraded")


async def test_refund_does_not_downgrade_before_the_review(store: IssuedKeys) -> None:
    # given a Gold customer
    s = store.store
    await make_spend_rule(s)
    _, _, gold = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 60_000, T0)

    # when the order is refunded in full the next day
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        await ingest(
            s,
            order_event(
                OrderEventKind.REFUNDED,
                customer="c",
                refund_ref="r-1",
                refunded=60_000,
            ),
        )

    # then the points go, the tier stays until the review
    customer = await assert_ledger_consistent(customer_id)
    assert (customer.tier_id, customer.points_balance) == (gold.id, 0)
    assert await _changes(customer_id) == [(None, gold.id, "qualified")]


async def test_a_top_tier_customer_is_not_judged_again_before_the_review(
    store: IssuedKeys,
) -> None:
    """Nothing ranks above the top tier and a downgrade waits for the review
    (tests above judge top-tier customers at it): a Gold customer's next
    order reads no spend."""
    s = store.store
    await make_spend_rule(s)
    _, _, gold = await _ladder(s)
    customer_id, sums = await _spend_reads(s, 60_000, 1_000)
    assert not sums
    customer = await Customer.get(id=customer_id)
    assert customer.tier_id == gold.id
    assert await _changes(customer_id) == [(None, gold.id, "qualified")]


async def test_a_payment_reads_the_spend_in_its_own_round_trip(
    store: IssuedKeys,
) -> None:
    """The spend that judges the tier rides at the end of the payment's
    writes: on PostgreSQL the payment sends no statement of its own for it,
    and the order that crosses the threshold counts once, on both backends."""
    s = store.store
    await make_spend_rule(s)
    bronze, silver, gold = await _ladder(s)
    customer_id, sums = await _spend_reads(s, 15_000, 6_000)
    if sql.is_postgres():
        assert [q.lstrip()[:4] for q in sums] == ["WITH"]  # with the writes
    else:
        assert len(sums) == 1

    def tier() -> Any:
        return Customer.get(id=customer_id).values_list("tier_id", flat=True)

    # 210.00: Silver (200.00) only with the new order counted
    assert await tier() == silver.id
    # 450.00: still Silver; the new order counted twice would make it 690.00
    await _order(s, "c", "o-3", 24_000, T0 + timedelta(days=2))
    assert await tier() == silver.id
    await _order(s, "c", "o-4", 5_000, T0 + timedelta(days=3))
    assert await tier() == gold.id  # 500.00 exactly
    assert await _changes(customer_id) == [
        (None, bronze.id, "qualified"),
        (bronze.id, silver.id, "qualified"),
        (silver.id, gold.id, "qualified"),
    ]


async def test_points_basis_upgrades_on_points_earned(store: IssuedKeys) -> None:
    # given tiers on points earned (real clock: entries are stamped as they are made)
    s = store.store
    await program.update_settings(s, {"tier_basis": TierBasis.POINTS})
    await make_spend_rule(s)
    bronze = await make_tier(s, "Bronze", 0, 0)
    silver = await make_tier(s, "Silver", 1, 300)

    # when 200, then 100 points are earned
    first = await ingest(s, order_event(ref="o-1", amount=20_000))
    customer_id = first.order.customer_id
    assert isinstance(customer_id, UUID)
    after_first = (await Customer.get(id=customer_id)).tier_id
    await ingest(s, order_event(ref="o-2", amount=10_000))

    # then Silver as soon as 300 points were earned
    assert after_first == bronze.id
    assert (await Customer.get(id=customer_id)).tier_id == silver.id


async def test_override_freezes_the_tier_until_cleared(store: IssuedKeys) -> None:
    # given a Gold customer put in Silver by the merchant
    s = store.store
    _, silver, gold = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 60_000, T0)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        await _override(s, customer_id, silver)
    customer = await Customer.get(id=customer_id)
    assert (customer.tier_id, customer.tier_locked) == (silver.id, True)

    # when orders come, evaluations run and the review date passes
    await _order(s, "c", "o-2", 90_000, T0 + timedelta(days=2))
    assert await _evaluate(s, customer_id) is None
    report = await maintenance.run(now=T0 + 3 * YEAR)

    # then nothing moves the tier
    assert report.tiers_reviewed == 0
    customer = await Customer.get(id=customer_id)
    assert (customer.tier_id, customer.tier_locked) == (silver.id, True)
    assert await _changes(customer_id) == [
        (None, gold.id, "qualified"),
        (gold.id, silver.id, "manual"),
    ]

    # when the override is cleared
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        await _override(s, customer_id, None)

    # then the customer is back in the tier they qualify for
    customer = await Customer.get(id=customer_id)
    assert (customer.tier_id, customer.tier_locked) == (gold.id, False)
    assert await _changes(customer_id) == [
        (None, gold.id, "qualified"),
        (gold.id, silver.id, "manual"),
        (silver.id, silver.id, "override_cleared"),
        (silver.id, gold.id, "qualified"),
    ]
    # and clearing again does nothing
    await _override(s, customer_id, None)
    assert len(await _changes(customer_id)) == 4


async def test_clearing_an_upward_override_returns_to_the_qualified_tier(
    store: IssuedKeys,
) -> None:
    # given a Bronze customer raised to Gold by hand
    s = store.store
    bronze, _, gold = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 1_000, T0)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        await _override(s, customer_id, gold)

    # when the override is cleared
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        await _override(s, customer_id, None)

    # then "back to what the customer qualifies for" (TierChangeReason), at once
    customer = await Customer.get(id=customer_id)
    assert (customer.tier_id, customer.tier_locked) == (bronze.id, False)
    assert await _changes(customer_id) == [
        (None, bronze.id, "qualified"),
        (bronze.id, gold.id, "manual"),
        (gold.id, gold.id, "override_cleared"),
        (gold.id, bronze.id, "downgraded"),
    ]


async def test_calendar_year_window_keeps_a_tier_through_the_next_year(
    store: IssuedKeys,
) -> None:
    # given a calendar-year window (Europe/Paris) and Gold reached in March 2025
    s = store.store
    await program.update_settings(s, {"tier_window": TierWindow.CALENDAR_YEAR})
    bronze, _, gold = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 60_000, T0)
    review_at = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)  # 2027-01-01 00:00 Paris
    customer = await Customer.get(id=customer_id)
    assert (customer.tier_id, customer.tier_review_at) == (gold.id, review_at)

    # when nothing is bought in 2026, maintenance runs through the year
    quiet = [
        await maintenance.run(now=datetime(2026, 1, 1, 12, tzinfo=UTC)),
        await maintenance.run(now=datetime(2026, 12, 31, 22, 59, tzinfo=UTC)),
    ]
    # then Gold is kept through 2026
    assert [r.tiers_reviewed for r in quiet] == [0, 0]
    assert (await Customer.get(id=customer_id)).tier_id == gold.id

    # when 2027 has started
    with time_machine.travel(datetime(2027, 1, 1, 8, tzinfo=UTC), tick=False):
        report = await maintenance.run()

    # then 2026 is judged: no spend, down to Bronze
    assert report.tiers_reviewed == 1
    customer = await Customer.get(id=customer_id)
    assert customer.tier_id == bronze.id
    assert (await _changes(customer_id))[-1] == (gold.id, bronze.id, "downgraded")


async def test_calendar_year_review_keeps_a_customer_who_requalified(
    store: IssuedKeys,
) -> None:
    s = store.store
    await program.update_settings(s, {"tier_window": TierWindow.CALENDAR_YEAR})
    _, _, gold = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 60_000, T0)
    await _order(s, "c", "o-2", 50_000, datetime(2026, 6, 1, tzinfo=UTC))

    with time_machine.travel(datetime(2027, 1, 1, 8, tzinfo=UTC), tick=False):
        report = await maintenance.run()

    assert report.tiers_reviewed == 1
    customer = await Customer.get(id=customer_id)
    assert customer.tier_id == gold.id
    assert await _changes(customer_id) == [(None, gold.id, "qualified")]


async def test_calendar_year_renewal_judges_the_following_year(
    store: IssuedKeys,
) -> None:
    # given Gold requalified by 2026 spend and kept at the 2027-01-01 review
    s = store.store
    await program.update_settings(s, {"tier_window": TierWindow.CALENDAR_YEAR})
    bronze, _, _ = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 60_000, T0)
    await _order(s, "c", "o-2", 50_000, datetime(2026, 6, 1, tzinfo=UTC))
    await maintenance.run(now=datetime(2027, 1, 1, 8, tzinfo=UTC))
    kept = await Customer.get(id=customer_id)
    # the next review is the start of 2028 in Paris, judging 2027
    assert kept.tier_review_at == datetime(2027, 12, 31, 23, 0, tzinfo=UTC)

    # when nothing is bought in 2027 and 2028 begins
    await maintenance.run(now=datetime(2028, 1, 1, 8, tzinfo=UTC))

    # then that review downgrades, and 2028 is judged next
    customer = await Customer.get(id=customer_id)
    assert customer.tier_id == bronze.id
    assert customer.tier_review_at == datetime(2028, 12, 31, 23, 0, tzinfo=UTC)


async def test_progress_shows_the_next_tier_and_the_amount_to_reach_it(
    store: IssuedKeys,
) -> None:
    s = store.store
    bronze, silver, _ = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 12_000, T0)

    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        customer = await Customer.get(id=customer_id)
        progress = await tiers.progress(s, customer)

    assert progress.current is not None and progress.current.id == bronze.id
    assert progress.next is not None and progress.next.id == silver.id
    assert (progress.metric, progress.amount_to_next) == (12_000, 8_000)


async def test_calendar_year_review_is_due_at_midnight_in_the_store_timezone(
    store: IssuedKeys,
) -> None:
    # given Gold reached in 2025, reviewed at 2027-01-01 00:00 Paris (23:00 UTC)
    s = store.store
    await program.update_settings(s, {"tier_window": TierWindow.CALENDAR_YEAR})
    bronze, _, _ = await _ladder(s)
    customer_id = await _order(s, "c", "o-1", 60_000, T0)

    # when maintenance runs at 00:30 in Paris
    report = await maintenance.run(now=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))

    # then the review is due and 2026 (no spend) is judged
    assert report.tiers_reviewed == 1
    assert (await Customer.get(id=customer_id)).tier_id == bronze.id


async def test_calendar_year_window_counts_an_order_paid_just_after_new_year(
    store: IssuedKeys,
) -> None:
    s = store.store
    await program.update_settings(s, {"tier_window": TierWindow.CALENDAR_YEAR})
    _, _, gold = await _ladder(s)

    # 00:30 on 1 January 2026 in Paris
    customer_id = await _order(
        s, "c", "o-1", 60_000, datetime(2025, 12, 31, 23, 31, tzinfo=UTC)
    )

    assert (await Customer.get(id=customer_id)).tier_id == gold.id


async def test_metrics_of_several_windows_match_one_window_at_a_time(
    store: IssuedKeys,
) -> None:
    # Tier progress asks for two windows in one query: it must agree with
    # asking for each window alone, on both bases, refunds and cancels included.
    s = store.store
    await _ladder(s)
    await make_spend_rule(s)
    customer_id = await _order(s, "c", "o-1", 30_000, T0 - timedelta(days=300))
    await _order(s, "c", "o-2", 12_000, T0 - timedelta(days=100))
    await _order(s, "c", "o-3", 7_000, T0 - timedelta(days=10))
    await _order(s, "c", "o-4", 5_000, T0 - timedelta(days=8))
    with time_machine.travel(T0 - timedelta(days=6), tick=False):
        await ingest(
            s,
            order_event(
                OrderEventKind.CANCELLED,
                ref="o-4",
                customer="c",
                amount=5_000,
                at=T0 - timedelta(days=6),
            ),
        )
    with time_machine.travel(T0 - timedelta(days=5), tick=False):
        await ingest(
            s,
            order_event(
                OrderEventKind.REFUNDED,
                ref="o-2",
                customer="c",
                amount=12_000,
                refund_ref="r-1",
                refunded=2_000,
                at=T0 - timedelta(days=5),
            ),
        )
    windows = [T0 - YEAR, T0 - timedelta(days=150), T0 - timedelta(days=20)]
    for basis in (TierBasis.SPEND, TierBasis.POINTS):
        await program.update_settings(s, {"tier_basis": basis})
        together = await tiers.qualifying_metrics(s, customer_id, since=windows)
        alone = [
            await tiers.qualifying_metric(s, customer_id, since=start)
            for start in windows
        ]
        assert together == alone, basis
        assert len(set(alone)) == 3, "the windows must differ for the test to bite"
