"""A hypothesis state machine of random ledger histories on the test database.

Random earn (paid order) / redeem / partial or full refund / cancel / adjust /
time passing (pending points released, lots expired) sequences for one customer
of a fresh store per example. After every step:
  - balance + pending == sum of the ledger entries == sum of the lots' remaining,
  - neither is ever negative,
  - pending points are never spendable,
and each step's effect matches a small pure-Python model exactly.

How it runs on the async ORM: the test is a plain (sync) function, so no event
loop is running while it executes; each step drives its coroutine to completion
on pytest-asyncio's session loop (the loop the ORM's connections belong to),
with `loop.run_until_complete`. No thread and no second loop is involved, so it
works the same on SQLite (aiosqlite) and PostgreSQL (asyncpg pool).
"""

import asyncio
import itertools
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from api.customers.models import Customer
from api.ledger import rules as ledger_rules
from api.ledger import service as ledger
from api.ledger.errors import InsufficientPointsError
from api.ledger.models import PointsLot, PointsTransaction
from api.maintenance import service as maintenance
from api.orders.events import OrderEventKind
from api.orders.models import Order, OrderStatus
from api.program import service as program
from api.rewards import service as rewards
from api.rewards.errors import RewardError, RewardErrorCode
from api.stores.models import Store
from tests.factories.customers import make_customer
from tests.factories.program import ingest, make_reward, make_spend_rule, order_event
from tests.factories.stores import make_store

T = TypeVar("T")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PENDING_DAYS = 7
EXPIRY_DAYS = 30
_stores = itertools.count()


@pytest.fixture(scope="session")
async def session_loop() -> asyncio.AbstractEventLoop:
    """The loop the ORM was opened on (pytest-asyncio's session loop)."""
    return asyncio.get_running_loop()


@dataclass
class ModelOrder:
    ref: str
    amount: int
    earned: int
    refunded: int = 0
    refunds: int = 0
    cancelled: bool = False

    @property
    def open(self) -> bool:
        return not self.cancelled and self.refunded < self.amount


@dataclass
class Books:
    balance: int
    pending: int
    entries: int
    lots: int
    pending_lots: int
    spendable_lots: int
    count: int


async def _books(customer_id: UUID) -> Books:
    customer = await Customer.get(id=customer_id)

    async def total(query: Any, column: str) -> int:
        rows = await query.annotate(t=Sum(column)).values("t")
        return int(rows[0]["t"] or 0) if rows else 0

    lots = PointsLot.filter(customer_id=customer_id)
    return Books(
        balance=customer.points_balance,
        pending=customer.points_pending,
        entries=await total(
            PointsTransaction.filter(customer_id=customer_id), "points"
        ),
        lots=await total(lots, "remaining"),
        pending_lots=await total(lots.filter(pending=True), "remaining"),
        spendable_lots=await total(lots.filter(pending=False), "remaining"),
        count=await PointsTransaction.filter(customer_id=customer_id).count(),
    )


def _machine(loop: asyncio.AbstractEventLoop) -> type[RuleBasedStateMachine]:
    def run(work: Awaitable[T]) -> T:
        return loop.run_until_complete(work)

    class LedgerMachine(RuleBasedStateMachine):
        store: Store
        customer_id: UUID

        def __init__(self) -> None:
            super().__init__()
            self.now = START
            self.total = 0  # model: balance + pending
            self.orders: list[ModelOrder] = []
            self.reward_ids: dict[int, UUID] = {}

        def at(self, work: Awaitable[T]) -> T:
            with time_machine.travel(self.now, tick=False):
                return run(work)

        def books(self) -> Books:
            return run(_books(self.customer_id))

        @initialize()
        def open_store(self) -> None:
            async def setup() -> tuple[Store, UUID]:
                issued = await make_store(name=f"Machine {next(_stores)}")
                await program.update_settings(
                    issued.store,
                    {"pending_days": PENDING_DAYS, "expiry_days": EXPIRY_DAYS},
                )
                await make_spend_rule(issued.store)
                customer = await make_customer(issued.store, external_id="m-1")
                return issued.store, customer.id

            self.store, self.customer_id = self.at(setup())

        # --- operations ---------------------------------------------------------

        @rule(amount=st.integers(min_value=0, max_value=60_000))
        def earn(self, amount: int) -> None:
            ref = f"o-{len(self.orders)}"
            event = order_event(ref=ref, customer="m-1", amount=amount, at=self.now)
            result = self.at(ingest(self.store, event))
            assert result.points_earned == amount // 100  # 1 point per euro, down
            self.orders.append(ModelOrder(ref, amount, result.points_earned))
            self.total += result.points_earned
            # A repeat delivery is harmless.
            again = self.at(ingest(self.store, event))
            assert (again.applied, again.points_earned) == (False, 0)

        def _reward(self, cost: int) -> UUID:
            if cost not in self.reward_ids:
                reward = run(make_reward(self.store, name=f"R{cost}", cost=cost))
                self.reward_ids[cost] = reward.id
            return self.reward_ids[cost]

        async def _redeem(self, reward_id: UUID) -> None:
            async with in_transaction():
                await rewards.redeem(self.store, self.customer_id, reward_id)

        @rule(cost=st.integers(min_value=1, max_value=800))
        def redeem(self, cost: int) -> None:
            reward_id = self._reward(cost)
            before = self.books()
            if cost <= before.balance:
                self.at(self._redeem(reward_id))
                after = self.books()
                assert (after.balance, after.pending) == (
                    before.balance - cost,
                    before.pending,
                )
                self.total -= cost
            else:
                self._refused(self._redeem(reward_id), before)

        @precondition(lambda self: self.books().pending > 0)
        @rule(data=st.data())
        def redeem_pending(self, data: st.DataObject) -> None:
            """A cost only balance + pending would cover must be refused."""
            before = self.books()
            cost = before.balance + data.draw(
                st.integers(min_value=1, max_value=before.pending), label="extra"
            )
            self._refused(self._redeem(self._reward(cost)), before)

        def _refused(self, attempt: Coroutine[Any, Any, None], before: Books) -> None:
            with pytest.raises(RewardError) as caught:
                self.at(attempt)
            assert caught.value.code is RewardErrorCode.INSUFFICIENT_POINTS
            assert self.books() == before

        async def _adjust(self, points: int) -> None:
            async with in_transaction():
                await ledger.adjust(
                    self.store, self.customer_id, points=points, reason="Machine"
                )

        @rule(
            points=st.integers(min_value=-400, max_value=400).filter(lambda p: p != 0)
        )
        def adjust(self, points: int) -> None:
            before = self.books()
            if -points > before.balance:
                with pytest.raises(InsufficientPointsError):
                    self.at(self._adjust(points))
                assert self.books() == before
                return
            self.at(self._adjust(points))
            after = self.books()
            assert (after.balance, after.pending) == (
                before.balance + points,
                before.pending,
            )
            self.total += points

        def _open_orders(self) -> list[ModelOrder]:
            return [o for o in self.orders if o.open and o.earned > 0]

        def _take_back(self, order: ModelOrder, target: int, event: Any) -> None:
            before = self.books()
            row = run(Order.get(store_id=self.store.id, order_ref=order.ref))
            owed = max(target - row.points_reversed - row.points_unrecovered, 0)
            result = self.at(ingest(self.store, event))
            # Everything the customer holds can be taken back, never more.
            assert result.points_reversed == min(owed, before.balance + before.pending)
            row = run(Order.get(store_id=self.store.id, order_ref=order.ref))
            assert row.points_reversed + row.points_unrecovered == target
            self.total -= result.points_reversed

        @precondition(lambda self: bool(self._open_orders()))
        @rule(data=st.data())
        def refund(self, data: st.DataObject) -> None:
            order = data.draw(st.sampled_from(self._open_orders()), label="order")
            left = order.amount - order.refunded
            part = data.draw(st.integers(min_value=1, max_value=left), label="part")
            order.refunds += 1
            event = order_event(
                OrderEventKind.REFUNDED,
                ref=order.ref,
                customer="m-1",
                amount=order.amount,
                at=self.now,
                refund_ref=f"r-{order.refunds}",
                refunded=part,
            )
            order.refunded += part
            target = (
                order.earned
                if order.refunded >= order.amount
                else ledger_rules.reversal_target(
                    order.earned, order.amount, order.refunded
                )
            )
            self._take_back(order, target, event)
            # The same refund again changes nothing.
            before = self.books()
            again = self.at(ingest(self.store, event))
            assert (again.applied, again.points_reversed) == (False, 0)
            assert self.books() == before

        @precondition(lambda self: bool(self._open_orders()))
        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            order = data.draw(st.sampled_from(self._open_orders()), label="order")
            event = order_event(
                OrderEventKind.CANCELLED,
                ref=order.ref,
                customer="m-1",
                amount=order.amount,
                at=self.now,
            )
            self._take_back(order, order.earned, event)
            order.cancelled = True
            status = run(Order.get(store_id=self.store.id, order_ref=order.ref)).status
            assert status is OrderStatus.CANCELLED

        @rule(
            hours=st.one_of(
                st.integers(min_value=1, max_value=12 * 24),
                st.sampled_from([PENDING_DAYS * 24, EXPIRY_DAYS * 24]),
            )
        )
        def time_passes(self, hours: int) -> None:
            """Maintenance releases lots whose hold ended, then expires old ones."""
            self.now += timedelta(hours=hours)
            lots = run(PointsLot.filter(customer_id=self.customer_id, remaining__gt=0))
            released = sum(
                lot.remaining
                for lot in lots
                if lot.pending and lot.available_at <= self.now
            )
            # The hold is shorter than the expiry, so an expired lot was released.
            expiring = sum(
                lot.remaining
                for lot in lots
                if lot.expires_at is not None and lot.expires_at <= self.now
            )
            before = self.books()
            report = maintenance.MaintenanceReport()
            self.at(maintenance.run_store(self.store, self.now, report))
            assert report.failures == 0
            assert report.settled == (1 if released or expiring else 0)
            after = self.books()
            assert (after.balance, after.pending) == (
                before.balance + released - expiring,
                before.pending - released,
            )
            self.total -= expiring

        # --- invariants -----------------------------------------------------------

        @invariant()
        def books_balance(self) -> None:
            if not hasattr(self, "customer_id"):
                return
            books = self.books()
            assert books.balance >= 0
            assert books.pending >= 0
            assert books.balance + books.pending == books.entries == self.total
            assert books.lots == books.entries
            assert books.pending_lots == books.pending
            assert books.spendable_lots == books.balance

        @invariant()
        def lots_are_settled_at_the_current_time(self) -> None:
            if not hasattr(self, "customer_id"):
                return
            lots = PointsLot.filter(customer_id=self.customer_id, remaining__gt=0)
            held_too_long = lots.filter(pending=True, available_at__lte=self.now)
            released_early = lots.filter(pending=False, available_at__gt=self.now)
            past_expiry = lots.filter(expires_at__lte=self.now)
            counts = [
                run(q.count()) for q in (held_too_long, released_early, past_expiry)
            ]
            assert counts == [0, 0, 0]

    return LedgerMachine


def test_ledger_invariants_hold_under_random_histories(
    session_loop: asyncio.AbstractEventLoop, db_clean: None
) -> None:
    run_state_machine_as_test(
        _machine(session_loop),
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
