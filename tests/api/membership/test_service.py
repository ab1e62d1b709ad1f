"""Joining the programme, birthdays and capped action bonuses, on the database."""

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest
import time_machine
from tortoise.transactions import in_transaction

from api.customers.models import Customer, Platform
from api.customers.rules import CustomerChanges
from api.earning import service as earning
from api.ladder.models import Stage, StageChange
from api.ledger import service as ledger
from api.ledger.models import PointsTransaction, TransactionKind
from api.maintenance import service as maintenance
from api.membership import service as membership
from api.program import service as program
from api.program.rules import CapPeriod, RuleKind, TierBasis
from api.stores.models import Store
from api.stores.service import IssuedKeys
from api.tiers.models import TierChange, TierChangeReason
from tests.api.ledger.test_service import assert_ledger_consistent
from tests.factories.customers import make_customer
from tests.factories.program import make_action_rule, make_tier


async def _enroll(store: Store, customer_id: UUID) -> Customer:
    async with in_transaction():
        return await membership.enroll(store, customer_id)


async def _entries(customer_id: UUID) -> list[tuple[TransactionKind, int, str]]:
    rows = await PointsTransaction.filter(customer_id=customer_id).order_by(
        "created_at", "id"
    )
    return [(r.kind, r.points, r.reason) for r in rows]


# --- enrolment -------------------------------------------------------------------


async def test_enroll_gives_the_bonus_once_candidate_stage_and_base_tier(
    store: IssuedKeys,
) -> None:
    # given a sign-up bonus, a base tier, and a known (not enrolled) customer
    s = store.store
    await program.update_settings(s, {"pending_days": 14})
    rule = await make_action_rule(s, RuleKind.ENROLLMENT, 200)
    member = await make_tier(s, "Member", 0, 0)
    await make_tier(s, "Gold", 1, 50_000)
    customer = await make_customer(s)
    assert customer.stage is Stage.PROSPECT

    # when they enrol, twice
    first = await _enroll(s, customer.id)
    second = await _enroll(s, customer.id)

    # then one bonus, spendable at once (only order points wait for the hold)
    assert first.enrolled and second.enrolled
    assert await _entries(customer.id) == [
        (TransactionKind.EARN, 200, "Welcome to the programme")
    ]
    bonus = await PointsTransaction.get(customer_id=customer.id)
    assert bonus.rule_id == rule.id
    assert (bonus.source_type, bonus.source_id) == ("action", "enrollment")
    current = await assert_ledger_consistent(customer.id)
    assert (current.points_balance, current.points_pending) == (200, 0)
    assert current.points_lifetime == 200
    assert current.enrolled_at == first.enrolled_at
    # and CANDIDATE on the ladder, in the base tier, each recorded once
    assert current.stage is Stage.CANDIDATE
    moves = await StageChange.filter(customer_id=customer.id).values_list(
        "from_stage", "to_stage", "cause"
    )
    assert [tuple(m) for m in moves] == [(Stage.PROSPECT, Stage.CANDIDATE, "enrolled")]
    assert current.tier_id == member.id
    changes = await TierChange.filter(customer_id=customer.id).values_list(
        "from_tier_id", "to_tier_id", "reason"
    )
    assert [tuple(c) for c in changes] == [
        (None, member.id, TierChangeReason.QUALIFIED)
    ]


async def test_enroll_through_upsert_is_as_good_as_enroll(store: IssuedKeys) -> None:
    s = store.store
    await make_action_rule(s, RuleKind.ENROLLMENT, 150)

    for _ in range(2):
        async with in_transaction():
            result = await membership.upsert(
                s,
                platform=Platform.CUSTOM,
                external_id="new-1",
                changes=CustomerChanges({"email": "new@example.com"}),
                enroll=True,
            )

    current = await assert_ledger_consistent(result.customer.id)
    assert (current.enrolled, current.stage) == (True, Stage.CANDIDATE)
    assert current.points_balance == 150
    assert await PointsTransaction.all().count() == 1


async def test_enroll_without_an_enrollment_rule_gives_no_points(
    store: IssuedKeys,
) -> None:
    s = store.store
    customer = await make_customer(s)

    await _enroll(s, customer.id)

    current = await assert_ledger_consistent(customer.id)
    assert (current.stage, current.points_balance, current.tier_id) == (
        Stage.CANDIDATE,
        0,
        None,
    )


async def test_enrollment_bonus_counts_towards_a_points_tier(
    store: IssuedKeys,
) -> None:
    # given tiers on points earned, and a sign-up bonus reaching Silver
    s = store.store
    await program.update_settings(s, {"tier_basis": TierBasis.POINTS})
    await make_action_rule(s, RuleKind.ENROLLMENT, 200)
    await make_tier(s, "Member", 0, 0)
    silver = await make_tier(s, "Silver", 1, 100)
    customer = await make_customer(s)

    # when
    await _enroll(s, customer.id)

    # then
    assert (await Customer.get(id=customer.id)).tier_id == silver.id


# --- birthdays -------------------------------------------------------------------


async def _birthday_customer(store: Store, birthday: date) -> UUID:
    await make_action_rule(store, RuleKind.BIRTHDAY, 150)
    with time_machine.travel(datetime(2025, 1, 10, 12, tzinfo=UTC), tick=False):
        customer = await make_customer(store, birthday=birthday)
        await _enroll(store, customer.id)
    return customer.id


async def _run_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        report = await maintenance.run()
    return report.birthdays


async def test_birthday_bonus_on_the_day_in_the_store_timezone_once_a_year(
    store: IssuedKeys,
) -> None:
    # given an enrolled customer born on 15 March, in a Europe/Paris store
    s = store.store
    customer_id = await _birthday_customer(s, date(1990, 3, 15))

    # when maintenance runs around their birthday
    runs = [
        # 14 March, 23:30 in Paris: not yet
        await _run_at(datetime(2026, 3, 14, 22, 30, tzinfo=UTC)),
        # 15 March, 00:30 in Paris (still the 14th in UTC): happy birthday
        await _run_at(datetime(2026, 3, 14, 23, 30, tzinfo=UTC)),
        # later the same day, and again: nothing more
        await _run_at(datetime(2026, 3, 15, 12, 0, tzinfo=UTC)),
        await _run_at(datetime(2026, 3, 15, 22, 59, tzinfo=UTC)),
        # the next year: again
        await _run_at(datetime(2027, 3, 15, 9, 0, tzinfo=UTC)),
        await _run_at(datetime(2027, 3, 15, 10, 0, tzinfo=UTC)),
    ]

    # then one bonus per year, each named after its year
    assert runs == [0, 1, 0, 0, 1, 0]
    entries = await PointsTransaction.filter(customer_id=customer_id).order_by(
        "created_at"
    )
    assert [(e.points, e.reason, e.source_id) for e in entries] == [
        (150, "Happy birthday", "birthday:2026"),
        # the 2026 bonus expired after the store's 365 days, before the next one
        (-150, "150 points earned on 2026-03-14 expired", entries[1].source_id),
        (150, "Happy birthday", "birthday:2027"),
    ]
    current = await assert_ledger_consistent(customer_id)
    assert (current.points_balance, current.points_lifetime) == (150, 300)


async def test_birthday_bonus_is_only_for_enrolled_customers(
    store: IssuedKeys,
) -> None:
    s = store.store
    await make_action_rule(s, RuleKind.BIRTHDAY, 150)
    with time_machine.travel(datetime(2025, 1, 10, 12, tzinfo=UTC), tick=False):
        customer = await make_customer(s, birthday=date(1990, 3, 15))

    assert await _run_at(datetime(2026, 3, 15, 12, tzinfo=UTC)) == 0
    assert await PointsTransaction.filter(customer_id=customer.id).count() == 0


@pytest.mark.parametrize(
    ("moment", "given"),
    [
        (datetime(2027, 2, 28, 12, tzinfo=UTC), 1),  # not a leap year: on the 28th
        (datetime(2027, 3, 1, 12, tzinfo=UTC), 0),
        (datetime(2028, 2, 28, 12, tzinfo=UTC), 0),  # leap year: wait for the 29th
        (datetime(2028, 2, 29, 12, tzinfo=UTC), 1),
    ],
)
async def test_29_february_birthdays_are_celebrated_on_28_february_in_common_years(
    store: IssuedKeys, moment: datetime, given: int
) -> None:
    s = store.store
    customer_id = await _birthday_customer(s, date(2000, 2, 29))

    assert await _run_at(moment) == given

    current = await assert_ledger_consistent(customer_id)
    assert current.points_balance == 150 * given


async def test_29_february_birthday_is_given_once_in_a_common_year(
    store: IssuedKeys,
) -> None:
    s = store.store
    customer_id = await _birthday_customer(s, date(2000, 2, 29))

    runs = [
        await _run_at(datetime(2027, 2, 28, 8, tzinfo=UTC)),
        await _run_at(datetime(2027, 2, 28, 20, tzinfo=UTC)),
        await _run_at(datetime(2027, 3, 1, 8, tzinfo=UTC)),
    ]

    assert runs == [1, 0, 0]
    assert (await assert_ledger_consistent(customer_id)).points_balance == 150


# --- caps ------------------------------------------------------------------------


async def _review_points(store: Store, customer_id: UUID, n: int) -> int:
    async with in_transaction():
        customer = await ledger.lock_customer(store, customer_id)
        given = await earning.award(
            store,
            customer,
            kind=RuleKind.REVIEW,
            at=datetime.now(UTC),
            source=ledger.Source("review", f"review-{n}"),
        )
    return sum(t.points for t in given)


async def test_capped_action_rule_stops_paying_within_its_period(
    store: IssuedKeys,
) -> None:
    # given 50 points per review, at most 120 a day (Paris days)
    s = store.store
    rule = await program.save_rule(
        s,
        program.RuleFields(
            kind=RuleKind.REVIEW,
            name="Reviews",
            points=50,
            cap_points=120,
            cap_period=CapPeriod.DAY,
        ),
    )
    customer = await make_customer(s)

    # when four reviews are written on 10 June (last one at 23:30 in Paris)
    moments = [
        datetime(2026, 6, 9, 22, 30, tzinfo=UTC),  # 10 June 00:30 Paris
        datetime(2026, 6, 10, 9, 0, tzinfo=UTC),
        datetime(2026, 6, 10, 15, 0, tzinfo=UTC),
        datetime(2026, 6, 10, 21, 30, tzinfo=UTC),  # 10 June 23:30 Paris
    ]
    paid = []
    for n, moment in enumerate(moments):
        with time_machine.travel(moment, tick=False):
            paid.append(await _review_points(s, customer.id, n))

    # then 50, 50, the 20 left under the cap, then nothing
    assert paid == [50, 50, 20, 0]
    capped = await PointsTransaction.get(customer_id=customer.id, points=20)
    assert capped.details["capped_from"] == 50
    assert capped.rule_id == rule.id

    # and the next Paris day pays again
    with time_machine.travel(datetime(2026, 6, 10, 22, 30, tzinfo=UTC), tick=False):
        assert await _review_points(s, customer.id, 5) == 50
    current = await assert_ledger_consistent(customer.id)
    assert current.points_balance == 170


async def test_lifetime_cap_is_never_exceeded(store: IssuedKeys) -> None:
    s = store.store
    await program.save_rule(
        s,
        program.RuleFields(
            kind=RuleKind.REVIEW,
            name="Reviews",
            points=40,
            cap_points=100,
            cap_period=CapPeriod.LIFETIME,
        ),
    )
    customer = await make_customer(s)

    paid = []
    for n in range(4):
        with time_machine.travel(
            datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=100 * n), tick=False
        ):
            paid.append(await _review_points(s, customer.id, n))

    assert paid == [40, 40, 20, 0]
    assert (await assert_ledger_consistent(customer.id)).points_lifetime == 100


async def test_once_only_credits_carry_no_other_writes(store: IssuedKeys) -> None:
    """A once-only credit paid out before is skipped: writes riding on it
    would be skipped with it, so `give` refuses them."""
    s = store.store
    await make_action_rule(s, RuleKind.ENROLLMENT, 50)
    customer = await make_customer(s)
    async with in_transaction():
        locked = await ledger.lock_customer(s, customer.id)
        now = datetime.now(UTC)
        credits = await earning.plan(
            s, locked, kind=RuleKind.ENROLLMENT, at=now, once_key="enrollment:x"
        )
        assert credits
        with pytest.raises(ValueError, match="once-only"):
            await earning.give(
                s,
                locked,
                credits,
                at=now,
                source=ledger.Source("action", "enrollment"),
                also_save=("enrolled",),
            )
    assert await PointsTransaction.filter(customer_id=customer.id).count() == 0
