import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test, initialize, invariant

from api.customers.models import Customer
from tests.factories.stores import make_store
from tests.factories.customers import make_customer


@pytest.fixture(scope="session")
async def session_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_machine(session_loop: asyncio.AbstractEventLoop, db_clean: None) -> None:
    loop = session_loop

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return loop.run_until_complete(coro)

    class M(RuleBasedStateMachine):
        @initialize()
        def init(self) -> None:
            self.issued = run(make_store(name="x"))
            self.customer = run(make_customer(self.issued.store))

        @rule(n=st.integers(1, 5))
        def count(self, n: int) -> None:
            assert run(Customer.filter(store_id=self.issued.store.id).count()) == 1

    run_state_machine_as_test(M, settings=settings(max_examples=5, stateful_step_count=5, deadline=None))
