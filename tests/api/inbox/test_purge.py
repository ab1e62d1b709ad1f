"""The inbox's retention: processed deliveries go once they are old enough,
a batch at a time; those still waiting for the redrive stay."""

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

from api.connections.models import Connection
from api.core.clock import utc_now
from api.core.crypto import Vault
from api.inbox import service as inbox
from api.inbox.models import WebhookDelivery
from api.maintenance import service as maintenance
from api.settings import Settings
from tests.plans import plan

RETENTION = timedelta(days=30)


async def _delivery(
    shop: Connection,
    key: str,
    *,
    days_old: float,
    processed: bool,
    error: str | None = None,
    attempts: int = 1,
) -> WebhookDelivery:
    delivery = await inbox.record(
        shop, topic="orders/paid", event_key=key, payload={"facts": []}
    )
    assert delivery is not None
    received = utc_now() - timedelta(days=days_old)
    await WebhookDelivery.filter(id=delivery.id).update(
        received_at=received,
        processed_at=received if processed else None,
        last_error=error,
        attempts=attempts,
    )
    return delivery


async def _kept() -> list[str]:
    return sorted(
        str(key)
        for key in await WebhookDelivery.all().values_list("event_key", flat=True)
    )


async def _inbox(shop: Connection) -> None:
    for n in range(3):
        await _delivery(shop, f"old-{n}", days_old=40, processed=True)
    await _delivery(shop, "old-refused", days_old=40, processed=True, error="refused")
    # Out of attempts: the redrive leaves it, for someone to look at.
    await _delivery(
        shop,
        "old-pending",
        days_old=40,
        processed=False,
        error="failed",
        attempts=inbox.MAX_ATTEMPTS,
    )
    await _delivery(shop, "recent", days_old=2, processed=True)


async def test_old_processed_deliveries_go_in_batches_and_the_rest_stay(
    shop: Connection,
) -> None:
    await _inbox(shop)
    await _delivery(shop, "old-retrying", days_old=40, processed=False, error="x")
    # An hour either side of the cutoff.
    await _delivery(shop, "just-kept", days_old=30 - 1 / 24, processed=True)
    await _delivery(shop, "just-gone", days_old=30 + 1 / 24, processed=True)
    purged = await inbox.purge(utc_now() - RETENTION, batch=2)
    assert purged == inbox.Purged(5, more=False)
    assert await _kept() == ["just-kept", "old-pending", "old-retrying", "recent"]
    assert await inbox.purge(utc_now() - RETENTION, batch=2) == inbox.Purged(0, False)


async def test_one_purge_deletes_at_most_its_batches(shop: Connection) -> None:
    await _inbox(shop)
    before = utc_now() - RETENTION
    assert await inbox.purge(before, batch=1, batches=3) == inbox.Purged(3, True)
    assert len(await _kept()) == 3
    assert await inbox.purge(before, batch=1, batches=3) == inbox.Purged(1, False)
    assert await _kept() == ["old-pending", "recent"]


@pytest.mark.postgres
async def test_purges_at_once_share_the_work_and_count_it_once(
    shop: Connection,
) -> None:
    await _inbox(shop)
    before = utc_now() - RETENTION
    done = await asyncio.gather(
        *(inbox.purge(before, batch=1, batches=10) for _ in range(3))
    )
    kept = await _kept()
    assert sum(each.deleted for each in done) == 6 - len(kept)
    # What one left to the others it held is for the next run.
    await inbox.purge(before)
    assert await _kept() == ["old-pending", "recent"]


async def test_the_maintenance_loop_purges_with_the_retention_it_is_given(
    shop: Connection, settings: Settings
) -> None:
    await _inbox(shop)
    kept = settings.model_copy(update={"inbox_retention_days": 0})
    assert kept.inbox_retention() is None
    assert settings.inbox_retention() == RETENTION

    def platforms(retention: timedelta | None) -> maintenance.Platforms:
        http: Any = None  # nothing here calls a platform
        return maintenance.Platforms(
            connectors={},  # no shop here: no codes to push, nothing to redrive
            http=http,
            vault=Vault(settings.vault_key()),
            inbox_retention=retention,
        )

    report = await maintenance.run(platforms=platforms(kept.inbox_retention()))
    assert report.deliveries_purged == 0
    assert len(await _kept()) == 6
    report = await maintenance.run(platforms=platforms(settings.inbox_retention()))
    assert (report.deliveries_purged, report.failures) == (4, 0)
    assert await _kept() == ["old-pending", "recent"]


@pytest.mark.parametrize("outcome", ["backlog", "failure"])
async def test_the_maintenance_loop_reports_a_backlog_once_and_outlives_a_failure(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    outcome: str,
) -> None:
    async def purge(before: Any) -> inbox.Purged:
        if outcome == "failure":
            raise ConnectionError("database gone")
        return inbox.Purged(100_000, more=True)

    monkeypatch.setattr(inbox, "purge", purge)
    http: Any = None
    platforms = maintenance.Platforms(
        connectors={},
        http=http,
        vault=Vault(settings.vault_key()),
        inbox_retention=RETENTION,
    )
    with caplog.at_level(logging.INFO, logger="ladder.maintenance"):
        report = await maintenance.run(platforms=platforms)
    logged = [r.getMessage() for r in caplog.records if r.name == "ladder.maintenance"]
    if outcome == "backlog":
        assert (report.deliveries_purged, report.failures) == (100_000, 0)
        assert logged == ["webhook inbox: 100000 deleted, older ones remain"]
    else:
        assert (report.deliveries_purged, report.failures) == (0, 1)
        assert logged == ["purge of the webhook inbox failed"]


def test_a_retention_shorter_than_the_platforms_retries_is_refused(
    settings: Settings,
) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        Settings.model_validate({**settings.model_dump(), "inbox_retention_days": 1})


@pytest.mark.parametrize("bounded", [False, True])
async def test_the_purge_reads_the_inbox_by_time_of_receipt(
    shop: Connection, bounded: bool
) -> None:
    """Each batch is led by webhook_deliveries_received, not a read of the
    whole inbox (on both databases)."""
    now = utc_now()
    args = [now, 1_000, *([now - RETENTION] if bounded else [])]
    query_plan = await plan(inbox.purge_sql(bounded=bounded), *args)
    assert "webhook_deliveries_received" in query_plan
