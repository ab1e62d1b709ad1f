"""Customers of a store: upsert from any platform, enrolment, search and erasure."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from uuid import UUID

from tortoise.queryset import QuerySet

from api.core import sql
from api.core.clock import utc_now
from api.core.instances import new
from api.customers import rules
from api.customers.errors import CustomerNotFoundError
from api.customers.models import PERSONAL_FIELDS, Customer, CustomerIdentity, Platform
from api.ladder.models import Stage
from api.stores.models import Store


class CustomerSort(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    EMAIL = "email"
    LAST_NAME = "last_name"
    POINTS_BALANCE = "points_balance"
    LAST_ORDER_AT = "last_order_at"


@dataclass(frozen=True)
class UpsertResult:
    customer: Customer
    created: bool


def active(store: Store) -> QuerySet[Customer]:
    """The store's customers, without those whose data was erased."""
    return Customer.filter(store_id=store.id, erased_at__isnull=True)


async def get(store: Store, customer_id: UUID) -> Customer:
    """One of the store's customers; another store's id is simply not found.
    Every storefront `me` runs this: hand-written SQL."""
    customer = await sql.fetch_model(
        Customer,
        "t.store_id = $1 AND t.id = $2 AND t.erased_at IS NULL",
        store.id,
        customer_id,
    )
    if customer is None:
        raise CustomerNotFoundError()
    return customer


async def _for_write(store: Store, customer_id: UUID) -> Customer:
    """The customer row, locked until the transaction ends, so an erasure and a
    write that race cannot bring personal data back."""
    customer = await active(store).select_for_update().get_or_none(id=customer_id)
    if customer is None:
        raise CustomerNotFoundError()
    return customer


async def find_by_external_id(
    store: Store, *, platform: Platform, external_id: str, lock: bool = False
) -> Customer | None:
    """The active customer with this platform id; `lock` locks the row until
    the transaction ends. Every order runs this: hand-written SQL."""
    row = await sql.fetch_one(
        _by_external_id_sql("", locked=lock and sql.is_postgres()),
        store.id,
        platform,
        external_id.strip(),
    )
    return sql.model_from(Customer, row) if row else None


def locked_by_external_id(
    store: Store, *, platform: Platform, external_id: str, prefix: str
) -> sql.Parent[Customer]:
    """`find_by_external_id(lock=True)` as a `sql.Parent` (PostgreSQL), for a
    statement that locks the customer, then a row of theirs."""
    return sql.Parent(
        Customer,
        _by_external_id_sql(prefix, locked=True),
        (store.id, platform, external_id.strip()),
        prefix,
    )


@cache
def _by_external_id_sql(prefix: str, *, locked: bool) -> str:
    return (
        f"SELECT {sql.columns(Customer, 'c', prefix)} FROM customer_identities i"  # noqa: S608 - column names from the model
        " JOIN customers c ON c.id = i.customer_id"
        " WHERE i.store_id = $1 AND i.platform = $2 AND i.external_id = $3"
        " AND c.store_id = $1 AND c.erased_at IS NULL"
        + (" FOR UPDATE OF c" if locked else "")
    )


@dataclass(frozen=True)
class Owners:
    """Who platform ids and emails name among the store's customers."""

    by_external_id: dict[str, UUID]
    # Every active customer with the email (a guest order goes to the first).
    by_email: dict[str, set[UUID]]


async def owners(
    store: Store,
    *,
    platform: Platform,
    external_ids: Iterable[str],
    emails: Iterable[str] = (),
) -> Owners:
    """The customers these platform ids and emails name, in one statement: a
    backfill asks for a page's buyers at once."""
    ids = sorted({external_id.strip() for external_id in external_ids})
    mails = sorted({rules.normalize_email(email) for email in emails})
    found = Owners({}, {})
    if not (ids or mails):
        return found
    by_id = "SELECT 'id' AS kind, external_id AS ref, customer_id FROM customer_identities WHERE store_id = $1 AND platform = $2"
    by_email = "SELECT 'email', email, id FROM customers WHERE store_id = $1 AND erased_at IS NULL"
    by_ids, id_args = sql.any_of("external_id", ids, at=3)
    by_emails, email_args = sql.any_of("email", mails, at=3 + len(id_args))
    rows = await sql.fetch_all(
        f"{by_id} AND {by_ids} UNION ALL {by_email} AND {by_emails}",
        store.id,
        platform,
        *id_args,
        *email_args,
    )
    for row in rows:
        owner = UUID(str(row["customer_id"]))
        if row["kind"] == "id":
            found.by_external_id[row["ref"]] = owner
        else:
            found.by_email.setdefault(row["ref"], set()).add(owner)
    return found


def locked_first_by_email(
    store: Store, email: str, *, prefix: str
) -> sql.Parent[Customer]:
    """`first_by_email`, that customer locked, as a `sql.Parent` (PostgreSQL),
    for a statement that locks a guest's customer, then their order. A first
    customer whose email changes or who is erased while this waits for their
    lock is passed over for the next with the email (their row stays locked
    until the transaction ends), as PostgreSQL rechecks a locked row."""
    return sql.Parent(
        Customer,
        _first_by_email_sql(prefix),
        (store.id, rules.normalize_email(email)),
        prefix,
    )


@cache
def _first_by_email_sql(prefix: str, *, locked: bool = True) -> str:
    return (
        f"SELECT {sql.columns(Customer, 'c', prefix)} FROM customers c"  # noqa: S608 - column names from the model
        " WHERE c.store_id = $1 AND c.erased_at IS NULL AND c.email = $2"
        " ORDER BY c.created_at, c.id LIMIT 1" + (" FOR UPDATE OF c" if locked else "")
    )


async def first_by_email(store: Store, email: str) -> UUID | None:
    """The id of the store's first active customer with this email (a guest
    order goes to them), hand-written: every guest order asks."""
    row = await sql.fetch_one(
        _first_by_email_sql("", locked=False),
        store.id,
        rules.normalize_email(email),
    )
    return UUID(str(row["id"])) if row else None


def search(
    store: Store,
    *,
    text: str | None = None,
    enrolled: bool | None = None,
    stage: Stage | None = None,
    tier_id: UUID | None = None,
    lapsed_before: datetime | None = None,
    active_since: datetime | None = None,
    sort: CustomerSort = CustomerSort.CREATED_AT,
    descending: bool = True,
    fields: tuple[str, ...] | None = None,
) -> sql.Rows[Customer]:
    """Customers matching filters, newest first.

    `text` matches email or name (contains, any case) or an external id
    (exact); `lapsed_before` keeps buyers whose last order is older,
    `active_since` those who bought since (or never bought: they cannot have
    lapsed). Every back-office list runs this: hand-written SQL, the same
    statement tortoise built for these filters. `fields`: read only these
    (partial rows, as tortoise's `.only()`).
    """
    args: list[object] = [store.id]

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["t.store_id = $1", "t.erased_at IS NULL"]
    if enrolled is not None:
        where.append(f"t.enrolled = {arg(enrolled)}")
    if stage is not None:
        where.append(f"t.stage = {arg(stage.value)}")
    if tier_id is not None:
        where.append(f"t.tier_id = {arg(tier_id)}")
    if lapsed_before is not None:
        where.append(f"t.last_order_at < {arg(lapsed_before)}")
    if active_since is not None:
        where.append(
            f"(t.last_order_at IS NULL OR t.last_order_at >= {arg(active_since)})"
        )
    if text and text.strip():
        needle = text.strip()
        pattern = arg(f"%{_escape_like(needle)}%")
        matches = [
            f"UPPER(CAST(t.{column} AS VARCHAR)) LIKE UPPER({pattern}) ESCAPE '\\'"
            for column in ("email", "first_name", "last_name")
        ]
        by_id = arg(needle)
        matches.append(
            "t.id IN (SELECT i.customer_id FROM customer_identities i"  # noqa: S608 - bound parameters only
            f" WHERE i.store_id = $1 AND i.external_id = {by_id})"
        )
        where.append(f"({' OR '.join(matches)})")
    direction = "DESC" if descending else "ASC"
    # The id breaks ties so pages never overlap or skip rows.
    return sql.Rows(
        Customer,
        " AND ".join(where),
        args,
        order_by=f"t.{sort.value} {direction}, t.id {direction}",
        fields=fields,
    )


def _escape_like(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def upsert(
    store: Store,
    *,
    platform: Platform,
    external_id: str,
    changes: rules.CustomerChanges,
) -> UpsertResult:
    """Create the customer known by this external id, or update the one that exists.

    Repeating the call changes nothing more; two concurrent first calls still
    make one customer (the identity's unique constraint decides the race).
    """
    external_id = rules.clean_external_id(external_id)
    values = rules.clean_changes(changes, today=utc_now().date())
    existing = await find_by_external_id(
        store, platform=platform, external_id=external_id
    )
    if existing is not None:
        locked = await _for_write(store, existing.id)
        return UpsertResult(await _apply(locked, values), created=False)
    customer = await _create(store, platform, external_id, values)
    if customer is not None:
        return UpsertResult(customer, created=True)
    winner = await find_by_external_id(
        store, platform=platform, external_id=external_id
    )
    if winner is None:  # erased while we raced: nothing left to update
        raise CustomerNotFoundError(field="externalId")
    locked = await _for_write(store, winner.id)
    return UpsertResult(await _apply(locked, values), created=False)


async def create(
    store: Store,
    *,
    platform: Platform,
    external_id: str,
    changes: rules.CustomerChanges,
) -> Customer | None:
    """A new customer known by this external id; None when one is already
    known by it (`upsert` updates that one). The row is new in the caller's
    transaction: no other can see or lock it before it commits, so it needs
    no lock of its own."""
    return await _create(
        store,
        platform,
        rules.clean_external_id(external_id),
        rules.clean_changes(changes, today=utc_now().date()),
    )


@dataclass(frozen=True)
class NewCustomer:
    """A customer and their identity, not written yet: the customer's insert
    (`first`) runs in any case, the identity's unless its key is taken (a
    concurrent first call won), and then the customer row must go
    (`discard`): new and shared with no one."""

    customer: Customer
    identity: CustomerIdentity

    @property
    def first(self) -> list[sql.Write]:
        return [sql.insert(self.customer)]

    async def discard(self) -> None:
        await self.customer.delete()


def prepare(
    store: Store,
    *,
    platform: Platform,
    external_id: str,
    changes: rules.CustomerChanges,
) -> NewCustomer:
    """`create`'s rows, for a statement that writes more after them (a new
    buyer's first order); refuses what `create` refuses, before any write."""
    return _prepared(
        store,
        platform,
        rules.clean_external_id(external_id),
        rules.clean_changes(changes, today=utc_now().date()),
    )


def _prepared(
    store: Store, platform: Platform, external_id: str, values: dict[str, object]
) -> NewCustomer:
    customer = new(
        Customer,
        store_id=store.id,
        birthday_md=rules.month_day(values.get("birthday")),
        **values,
    )
    identity = new(  # by id: the customer is not saved yet
        CustomerIdentity,
        store_id=store.id,
        customer_id=customer.id,
        platform=platform,
        external_id=external_id,
    )
    return NewCustomer(customer, identity)


async def _create(
    store: Store, platform: Platform, external_id: str, values: dict[str, object]
) -> Customer | None:
    # One statement, no savepoint (two round trips): the customer, then its
    # identity unless that is known.
    made = _prepared(store, platform, external_id, values)
    if await sql.insert_unless_exists(made.identity, first=made.first):
        return made.customer
    await made.discard()
    return None


async def update(
    store: Store, customer_id: UUID, *, changes: rules.CustomerChanges
) -> Customer:
    customer = await _for_write(store, customer_id)
    return await _apply(customer, rules.clean_changes(changes, today=utc_now().date()))


async def enroll(store: Store, customer_id: UUID) -> Customer:
    """Enrol a customer in the programme; enrolling twice keeps the first date."""
    customer = await _for_write(store, customer_id)
    if not customer.enrolled:
        customer.enrolled = True
        customer.enrolled_at = utc_now()
        await customer.save(update_fields=["enrolled", "enrolled_at", "updated_at"])
    return customer


async def erase(store: Store, customer_id: UUID) -> UUID:
    """Erase a customer's personal data; their ledger stays, anonymised.

    Erasing again succeeds and changes nothing (a retried request must not fail).
    """
    if await Customer.exists(
        store_id=store.id, id=customer_id, erased_at__isnull=False
    ):
        return customer_id
    customer = await _for_write(store, customer_id)
    for name in PERSONAL_FIELDS:
        setattr(customer, name, None)
    customer.marketing_consent = False
    customer.erased_at = utc_now()
    await customer.save()
    await CustomerIdentity.filter(store_id=store.id, customer_id=customer.id).delete()
    return customer.id


async def identities_by_customer(
    store: Store, customer_ids: list[UUID]
) -> dict[UUID, list[CustomerIdentity]]:
    found: dict[UUID, list[CustomerIdentity]] = {cid: [] for cid in customer_ids}
    rows = await CustomerIdentity.filter(
        store_id=store.id, customer_id__in=customer_ids
    ).order_by("created_at")
    for row in rows:
        found[row.customer_id].append(row)  # type: ignore[index]
    return found


async def _apply(customer: Customer, values: dict[str, object]) -> Customer:
    if "birthday" in values:
        values = {**values, "birthday_md": rules.month_day(values["birthday"])}
    changed = [
        name for name, value in values.items() if getattr(customer, name) != value
    ]
    if changed:
        for name in changed:
            setattr(customer, name, values[name])
        await customer.save(update_fields=[*changed, "updated_at"])
    return customer
