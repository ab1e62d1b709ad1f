"""A customer's life in the programme: joining, birthdays, the ladder and tiers
that follow. Orchestrates customers, earning, ladder and tiers."""

import calendar
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from api.core.clock import utc_now
from api.customers import service as customers
from api.customers.models import Customer, Platform
from api.customers.rules import CustomerChanges
from api.customers.service import UpsertResult
from api.earning import service as earning
from api.ladder import service as ladder
from api.ledger import service as ledger
from api.ledger.models import PointsTransaction
from api.platforms import PlatformCustomer
from api.program.rules import RuleKind
from api.stores.models import Store
from api.tiers import service as tiers


async def upsert(
    store: Store,
    *,
    platform: Platform,
    external_id: str,
    changes: CustomerChanges,
    enroll: bool = False,
) -> UpsertResult:
    """customerUpsert: save the customer, then keep their rung on the ladder."""
    result = await customers.upsert(
        store, platform=platform, external_id=external_id, changes=changes
    )
    customer = await ledger.lock_customer(store, result.customer.id)
    if enroll:
        await _enroll_locked(store, customer)
    else:
        await ladder.recompute(store, customer, cause="profile updated")
    return UpsertResult(customer, result.created)


async def update(
    store: Store, customer_id: UUID, *, changes: CustomerChanges
) -> Customer:
    await customers.update(store, customer_id, changes=changes)
    customer = await ledger.lock_customer(store, customer_id)
    await ladder.recompute(store, customer, cause="profile updated")
    return customer


async def enroll(store: Store, customer_id: UUID) -> Customer:
    """Join the programme: sign-up bonus once, CANDIDATE on the ladder, base tier."""
    customer = await ledger.lock_customer(store, customer_id)
    await _enroll_locked(store, customer)
    return customer


async def _enroll_locked(store: Store, customer: Customer) -> None:
    if customer.enrolled:
        return
    now = utc_now()
    customer.enrolled = True
    customer.enrolled_at = now
    await customer.save(update_fields=["enrolled", "enrolled_at", "updated_at"])
    await earning.award(
        store,
        customer,
        kind=RuleKind.ENROLLMENT,
        at=now,
        source=ledger.Source("action", "enrollment"),
        once_key=f"enrollment:{customer.id}",
    )
    await ladder.recompute(store, customer, cause="enrolled", now=now)
    await tiers.evaluate(store, customer, note="enrolled", now=now)


def birthday_today(birthday: date | None, now: datetime, timezone: str) -> bool:
    """Is it the customer's birthday in the store's timezone? (29 Feb: 28 Feb.)"""
    if birthday is None:
        return False
    today = now.astimezone(ZoneInfo(timezone)).date()
    month, day = birthday.month, birthday.day
    if (month, day) == (2, 29) and not calendar.isleap(today.year):
        day = 28
    return (today.month, today.day) == (month, day)


async def award_birthday(
    store: Store, customer_id: UUID, *, now: datetime | None = None
) -> list[PointsTransaction]:
    """The birthday bonus, at most once per calendar year, for enrolled customers."""
    now = now or utc_now()
    customer = await ledger.lock_customer(store, customer_id)
    if not customer.enrolled or not birthday_today(
        customer.birthday, now, store.timezone
    ):
        return []
    year = now.astimezone(ZoneInfo(store.timezone)).year
    return await earning.award(
        store,
        customer,
        kind=RuleKind.BIRTHDAY,
        at=now,
        source=ledger.Source("action", f"birthday:{year}"),
        once_key=f"birthday:{customer.id}:{year}",
    )


async def sync_platform_customer(store: Store, profile: PlatformCustomer) -> Customer:
    """A platform's customer record (created or updated there) mirrored here.

    Only what the platform states is copied: a redacted (null) email does not
    erase the one Ladder has.
    """
    changes = CustomerChanges()
    for name in ("email", "first_name", "last_name", "birthday"):
        value = getattr(profile, name)
        if value is not None:
            changes.set(name, value)
    if profile.marketing_consent is not None:
        changes.set("marketing_consent", profile.marketing_consent)
    result = await upsert(
        store,
        platform=Platform(profile.platform),
        external_id=profile.external_id,
        changes=changes,
    )
    return result.customer
