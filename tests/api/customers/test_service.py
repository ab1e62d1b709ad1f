import asyncio
import uuid
from datetime import date

import pytest
from tortoise.transactions import in_transaction

from api.customers import service
from api.customers.errors import CustomerError, CustomerErrorCode
from api.customers.models import PERSONAL_FIELDS, Customer, CustomerIdentity, Platform
from api.customers.rules import CustomerChanges
from api.customers.service import CustomerSort
from api.stores.service import IssuedKeys
from tests.factories.customers import make_customer
from tests.graphql import count_queries


async def test_upsert_twice_is_one_customer(store: IssuedKeys) -> None:
    # given
    first = await service.upsert(
        store.store,
        platform=Platform.CUSTOM,
        external_id="c-1",
        changes=CustomerChanges({"email": "Ada@Example.com"}),
    )
    # when
    second = await service.upsert(
        store.store,
        platform=Platform.CUSTOM,
        external_id=" c-1 ",
        changes=CustomerChanges({"first_name": "Ada"}),
    )
    # then
    assert first.created is True
    assert second.created is False
    assert second.customer.id == first.customer.id
    row = await Customer.get(id=first.customer.id)
    assert (row.email, row.first_name) == ("ada@example.com", "Ada")
    assert await Customer.filter(store_id=store.store.id).count() == 1


async def test_same_external_id_on_two_platforms_is_two_customers(
    store: IssuedKeys,
) -> None:
    a = await make_customer(store.store, external_id="42", platform=Platform.SHOPIFY)
    b = await make_customer(
        store.store, external_id="42", platform=Platform.WOOCOMMERCE
    )
    assert a.id != b.id


async def test_same_external_id_in_two_stores_is_two_customers(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    a = await make_customer(store.store, external_id="42")
    b = await make_customer(other_store.store, external_id="42")
    assert a.id != b.id
    assert (
        await service.find_by_external_id(
            store.store, platform=Platform.CUSTOM, external_id="42"
        )
        == a
    )


async def test_invalid_input_writes_nothing(store: IssuedKeys) -> None:
    with pytest.raises(CustomerError):
        async with in_transaction():
            await service.upsert(
                store.store,
                platform=Platform.CUSTOM,
                external_id="c-1",
                changes=CustomerChanges({"email": "not-an-email"}),
            )
    assert await Customer.all().count() == 0
    assert await CustomerIdentity.all().count() == 0


async def test_update_keeps_fields_left_out(store: IssuedKeys) -> None:
    customer = await make_customer(store.store, birthday=date(1990, 1, 2))
    updated = await service.update(
        store.store, customer.id, changes=CustomerChanges({"last_name": "Byron"})
    )
    assert (updated.first_name, updated.last_name, updated.birthday) == (
        "Ada",
        "Byron",
        date(1990, 1, 2),
    )


async def test_enroll_twice_keeps_first_date(store: IssuedKeys) -> None:
    customer = await make_customer(store.store)
    first = await service.enroll(store.store, customer.id)
    second = await service.enroll(store.store, customer.id)
    assert first.enrolled and second.enrolled
    assert second.enrolled_at == first.enrolled_at is not None


async def test_other_store_customer_is_not_found(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    theirs = await make_customer(other_store.store)
    for action in (
        service.get(store.store, theirs.id),
        service.enroll(store.store, theirs.id),
        service.erase(store.store, theirs.id),
        service.update(
            store.store, theirs.id, changes=CustomerChanges({"email": None})
        ),
    ):
        with pytest.raises(CustomerError) as raised:
            await action
        assert raised.value.code is CustomerErrorCode.NOT_FOUND
    row = await Customer.get(id=theirs.id)
    assert (row.email, row.enrolled, row.erased_at) == ("ada@example.com", False, None)


async def test_erase_removes_personal_data(store: IssuedKeys) -> None:
    # given
    customer = await make_customer(
        store.store, birthday=date(1990, 1, 2), enrolled=True
    )
    # when
    await service.erase(store.store, customer.id)
    # then: the row stays for the ledger, with no personal data left
    row = await Customer.get(id=customer.id)
    assert row.erased_at is not None
    assert (row.email, row.first_name, row.last_name, row.birthday) == (None,) * 4
    assert {name: getattr(row, name) for name in PERSONAL_FIELDS} == dict.fromkeys(
        PERSONAL_FIELDS
    )
    assert row.marketing_consent is False
    assert await CustomerIdentity.filter(customer_id=customer.id).count() == 0
    assert await service.search(store.store).count() == 0
    with pytest.raises(CustomerError):
        await service.get(store.store, customer.id)


async def test_every_customer_column_is_classified(
    store: IssuedKeys,  # the models are set up (foreign keys get their columns)
) -> None:
    # A new column must be declared personal (erased) or not: nothing slips by.
    not_personal = {
        "id", "store_id", "marketing_consent", "enrolled", "enrolled_at",
        "points_balance", "points_pending", "points_lifetime", "lots_due_at", "tier_id",
        "tier_review_at", "tier_locked", "stage", "stage_changed_at", "paid_orders",
        "advocacy_signals", "last_order_at", "created_at", "updated_at", "erased_at",
    }  # fmt: skip
    columns = set(Customer._meta.fields_db_projection)
    assert columns == not_personal | set(PERSONAL_FIELDS)


async def test_erased_external_id_can_come_back_as_a_new_customer(
    store: IssuedKeys,
) -> None:
    old = await make_customer(store.store, external_id="c-9")
    await service.erase(store.store, old.id)
    new = await make_customer(store.store, external_id="c-9")
    assert new.id != old.id


async def test_search_by_text_enrolment_and_sort(store: IssuedKeys) -> None:
    await make_customer(
        store.store, external_id="a", email="zed@example.com", last_name="Zed"
    )
    await make_customer(
        store.store,
        external_id="b",
        email="amy@example.com",
        last_name="Amy",
        enrolled=True,
    )
    await make_customer(store.store, external_id="ext-77", email=None, last_name="Nemo")

    async def emails(**kwargs: object) -> list[str | None]:
        rows = await service.search(store.store, **kwargs)  # type: ignore[arg-type]
        return [r.email for r in rows]

    assert await emails(text="ZED") == ["zed@example.com"]
    assert await emails(text="ext-77") == [None]
    assert await emails(text="ext-7") == []  # external ids match exactly
    assert await emails(enrolled=True) == ["amy@example.com"]
    assert await emails(sort=CustomerSort.LAST_NAME, descending=False) == [
        "amy@example.com",
        None,
        "zed@example.com",
    ]


async def test_search_text_is_literal_and_ignores_case(store: IssuedKeys) -> None:
    """LIKE's wildcards in the text match themselves, not any character."""
    for n, email in enumerate(
        ["a_b@example.com", "axb@example.com", "100%off@example.com", "1000ff@x.com"]
    ):
        await make_customer(store.store, external_id=f"w-{n}", email=email)
    await make_customer(
        store.store, external_id="w-9", email="b@x.com", first_name="Back\\Slash"
    )

    async def emails(text: str) -> set[str | None]:
        return {r.email for r in await service.search(store.store, text=text)}

    assert await emails("A_B") == {"a_b@example.com"}
    assert await emails("100%") == {"100%off@example.com"}
    assert await emails("k\\s") == {"b@x.com"}
    assert await emails("k\\") == {"b@x.com"}
    assert len(await emails("@")) == 5


@pytest.mark.postgres
async def test_concurrent_first_upserts_make_one_customer(store: IssuedKeys) -> None:
    # given 25 callers racing to create the same customer
    barrier = asyncio.Barrier(25)

    async def call(i: int) -> service.UpsertResult:
        await barrier.wait()
        async with in_transaction():
            return await service.upsert(
                store.store,
                platform=Platform.SHOPIFY,
                external_id="race-1",
                changes=CustomerChanges({"first_name": f"n{i}"}),
            )

    # when
    results = await asyncio.gather(*(call(i) for i in range(25)))
    # then
    assert sum(r.created for r in results) == 1
    assert len({r.customer.id for r in results}) == 1
    assert await Customer.filter(store_id=store.store.id).count() == 1
    assert await CustomerIdentity.filter(store_id=store.store.id).count() == 1


@pytest.mark.postgres
async def test_erasure_wins_over_a_racing_update(store: IssuedKeys) -> None:
    # given an erasure and an update of the same customer, released together
    customer = await make_customer(store.store)
    barrier = asyncio.Barrier(2)

    async def erase() -> None:
        await barrier.wait()
        async with in_transaction():
            await service.erase(store.store, customer.id)

    async def update() -> None:
        await barrier.wait()
        try:
            async with in_transaction():
                await service.update(
                    store.store,
                    customer.id,
                    changes=CustomerChanges({"email": "new@example.com"}),
                )
        except CustomerError:
            pass  # erased first: not found, as it should be

    # when
    for _ in range(10):
        await asyncio.gather(erase(), update())
        # then whichever ran first, no personal data is left
        row = await Customer.get(id=customer.id)
        assert (row.erased_at is not None, row.email) == (True, None)
        customer = await make_customer(store.store, external_id=f"again-{uuid.uuid4()}")


async def test_owners_by_platform_id_are_this_stores_on_this_platform(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    a = await make_customer(store.store, external_id="a", platform=Platform.SHOPIFY)
    await make_customer(store.store, external_id="b", platform=Platform.WOOCOMMERCE)
    await make_customer(other_store.store, external_id="c", platform=Platform.SHOPIFY)
    erased = await make_customer(
        store.store, external_id="d", platform=Platform.SHOPIFY
    )
    await service.erase(store.store, erased.id)
    found = await service.owners(
        store.store, platform=Platform.SHOPIFY, external_ids=[" a ", "b", "c", "d", "e"]
    )
    assert found == service.Owners({"a": a.id}, {})
    assert await service.owners(
        store.store, platform=Platform.SHOPIFY, external_ids=[]
    ) == service.Owners({}, {})


async def test_owners_by_email_are_every_active_customer_with_it(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    first = await make_customer(store.store, external_id="1", email="ada@example.com")
    second = await make_customer(store.store, external_id="2", email="ada@example.com")
    erased = await make_customer(store.store, external_id="3", email="ada@example.com")
    await service.erase(store.store, erased.id)
    await make_customer(other_store.store, external_id="4", email="bob@example.com")
    found = await service.owners(
        store.store,
        platform=Platform.CUSTOM,
        external_ids=["1"],
        emails=[" ADA@example.com", "bob@example.com"],
    )
    assert found == service.Owners(
        {"1": first.id}, {"ada@example.com": {first.id, second.id}}
    )


@pytest.mark.postgres
async def test_owners_ask_with_one_statement_text_whatever_the_page(
    store: IssuedKeys,
) -> None:
    """One prepared statement serves every page (arrays, not lists of
    placeholders as long as the page)."""
    a = await make_customer(store.store, external_id="a", platform=Platform.SHOPIFY)
    pages = (["a"], ["a", "b", "c"], [f"x{n}" for n in range(250)] + ["a"])
    with count_queries() as counter:
        found = [
            await service.owners(
                store.store,
                platform=Platform.SHOPIFY,
                external_ids=page,
                emails=[f"{external_id}@example.com" for external_id in page],
            )
            for page in pages
        ]
    assert found == [service.Owners({"a": a.id}, {})] * 3
    texts = {statement.split(": (")[0] for statement in counter.statements}
    assert len(counter.statements) == 3 and len(texts) == 1, texts


async def test_first_by_email_is_the_oldest_active_customer_with_it(
    store: IssuedKeys, other_store: IssuedKeys
) -> None:
    erased = await make_customer(store.store, external_id="0", email="ada@example.com")
    await service.erase(store.store, erased.id)
    first = await make_customer(store.store, external_id="1", email="ada@example.com")
    await make_customer(store.store, external_id="2", email="ada@example.com")
    await make_customer(other_store.store, external_id="3", email="bob@example.com")
    assert await service.first_by_email(store.store, " ADA@example.com") == first.id
    assert await service.first_by_email(store.store, "bob@example.com") is None
