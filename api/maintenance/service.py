"""Time-driven work: pending points released, lots expired, tiers reviewed,
birthday bonuses given. Run by `ladder worker` and, embedded, by `ladder serve`.

Each customer is handled in its own transaction so one failure stops nothing else.
"""

import asyncio
import calendar
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from api.connections import service as connections
from api.connections.models import Connection
from api.core.clock import utc_now
from api.core.crypto import Vault
from api.customers.models import Customer
from api.inbox import service as inbox
from api.ledger import service as ledger
from api.ledger.models import PointsLot
from api.membership import service as membership
from api.platforms import Connector, PlatformName
from api.rewards import platform_codes
from api.stores.models import Store
from api.sync import service as sync
from api.tiers import service as tiers

logger = logging.getLogger("ladder.maintenance")
BATCH = 500


@dataclass
class MaintenanceReport:
    settled: int = 0
    tiers_reviewed: int = 0
    birthdays: int = 0
    webhooks_redriven: int = 0
    codes_pushed: int = 0
    reconciled: int = 0
    deliveries_purged: int = 0
    failures: int = 0


@dataclass(frozen=True)
class Platforms:
    """What platform work needs: the plugins, the shared HTTP client, the vault."""

    connectors: Mapping[PlatformName, Connector]
    http: object
    vault: Vault
    # Platforms that never retry webhooks (WooCommerce) are reconciled this often.
    reconcile_every: timedelta = timedelta(minutes=10)
    # Processed webhook deliveries are kept so long (None: for good).
    inbox_retention: timedelta | None = None


async def run(
    now: datetime | None = None, platforms: Platforms | None = None
) -> MaintenanceReport:
    now = now or utc_now()
    report = MaintenanceReport()
    for store in await Store.all():
        await run_store(store, now, report)
        if platforms is not None:
            for connector in platforms.connectors.values():
                try:
                    report.codes_pushed += await platform_codes.push_pending(
                        store, connector, platforms.http, platforms.vault
                    )
                except Exception:  # one shop's outage must not stop the others
                    logger.exception("reward codes for store %s", store.id)
                    report.failures += 1
    if platforms is not None:
        report.webhooks_redriven = await inbox.redrive(platforms.connectors)
        report.reconciled = await _reconcile(platforms, now)
        if platforms.inbox_retention is not None:
            await _purge(now - platforms.inbox_retention, report)
    return report


async def _purge(before: datetime, report: MaintenanceReport) -> None:
    try:
        purged = await inbox.purge(before)
    except Exception:  # the next run tries again; nothing else depends on it
        logger.exception("purge of the webhook inbox failed")
        report.failures += 1
        return
    report.deliveries_purged = purged.deleted
    if purged.more:  # routine purges are not logged; a backlog is, once a run
        logger.info("webhook inbox: %d deleted, older ones remain", purged.deleted)


RECONCILED_PLATFORMS = (PlatformName.WOOCOMMERCE,)
RECONCILE_PAGES = 20


async def _reconcile(platforms: Platforms, now: datetime) -> int:
    """Pull recently changed orders from shops whose webhooks may be lost."""
    done = 0
    due = await Connection.filter(
        Q(reconciled_at__isnull=True)
        | Q(reconciled_at__lte=now - platforms.reconcile_every),
        active=True,
        platform__in=[p.value for p in RECONCILED_PLATFORMS],
    ).prefetch_related("store")
    for connection in due:
        connector = platforms.connectors.get(connection.platform)
        if connector is None:
            continue
        try:
            token = await connections.access_token(
                connection, platforms.vault, connector, platforms.http
            )
            if token:
                client = connector.client(
                    platforms.http, shop_ref=connection.shop_ref, access_token=token
                )
                await sync.backfill(connection, client, max_pages=RECONCILE_PAGES)
            await Connection.filter(id=connection.id).update(reconciled_at=now)
            done += 1
        except Exception:  # one shop's outage must not stop the others
            logger.exception("reconcile of %s failed", connection.shop_ref)
    return done


async def run_store(store: Store, now: datetime, report: MaintenanceReport) -> None:
    due = (
        await PointsLot.filter(
            Q(pending=True, available_at__lte=now)
            | Q(pending=False, expires_at__lte=now),
            store_id=store.id,
            remaining__gt=0,
        )
        .distinct()
        .limit(BATCH)
        .values_list("customer_id", flat=True)
    )
    for customer_id in {UUID(str(c)) for c in due}:
        if await _guarded(store, customer_id, _settle, now):
            report.settled += 1
        else:
            report.failures += 1
    for customer_id in await tiers.customers_due_for_review(store, now, BATCH):
        if await _guarded(store, customer_id, _review, now):
            report.tiers_reviewed += 1
        else:
            report.failures += 1
    for customer_id in await _birthday_candidates(store, now):
        async with in_transaction():
            given = await membership.award_birthday(store, customer_id, now=now)
        report.birthdays += bool(given)


async def _settle(store: Store, customer_id: UUID, now: datetime) -> None:
    customer = await ledger.lock_customer(store, customer_id)
    await ledger.settle(store, customer, now=now)


async def _review(store: Store, customer_id: UUID, now: datetime) -> None:
    customer = await ledger.lock_customer(store, customer_id)
    await tiers.evaluate(store, customer, note="tier review", now=now)


async def _guarded(store: Store, customer_id: UUID, work, now: datetime) -> bool:  # type: ignore[no-untyped-def]
    try:
        async with in_transaction():
            await work(store, customer_id, now)
    except Exception:
        logger.exception("maintenance failed for a customer of store %s", store.id)
        return False
    return True


async def _birthday_candidates(store: Store, now: datetime) -> list[UUID]:
    today = now.astimezone(ZoneInfo(store.timezone)).date()
    days = [today.month * 100 + today.day]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append(229)  # 29 February birthdays are celebrated on the 28th
    rows = await Customer.filter(
        store_id=store.id, enrolled=True, birthday_md__in=days, erased_at__isnull=True
    ).values_list("id", flat=True)
    return [UUID(str(cid)) for cid in rows]


async def run_forever(
    interval_seconds: float, platforms: Platforms | None = None
) -> None:
    """Run maintenance every interval until cancelled; a failed run is logged."""
    while True:
        try:
            report = await run(platforms=platforms)
            if (
                report.settled
                or report.tiers_reviewed
                or report.birthdays
                or report.failures
            ):
                logger.info("maintenance: %s", report)
        except Exception:  # the loop must outlive a bad run (database restart, ...)
            logger.exception("maintenance run failed")
        await asyncio.sleep(interval_seconds)
