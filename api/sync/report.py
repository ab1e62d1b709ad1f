"""What a backfill did, and the orders it refused, named in the log up to a
point (a shop in another currency refuses every order)."""

import logging
from dataclasses import dataclass, field

from api.connections.models import Connection
from api.core.errors import DomainError
from api.orders import rules as order_rules
from api.orders.events import OrderEvent

logger = logging.getLogger("ladder.sync")

# Refused events named in the log per run; the rest are summed up at its end.
NAMED_REFUSALS = 10


@dataclass
class SyncReport:
    orders_seen: int = 0
    events_ingested: int = 0
    skipped: int = 0
    errors: int = 0
    # Pages whose events are all in and whose checkpoint is saved.
    pages: int = 0
    resumed: bool = False
    # Batches rolled back and ingested again event by event (a refusal
    # midway, a deadlock).
    batches_redone: int = 0
    # The errors by code (another currency, a refund of an order not seen yet).
    refused: dict[str, int] = field(default_factory=dict)


def count_refusal(
    connection: Connection, event: OrderEvent, error: DomainError, report: SyncReport
) -> None:
    report.errors += 1
    code = str(error.code)
    report.refused[code] = report.refused.get(code, 0) + 1
    if report.errors <= NAMED_REFUSALS:
        logger.warning(
            "order %r of %s not ingested: %s",
            event.order_ref[: order_rules.MAX_REF],
            connection.shop_ref,
            code,
        )


def sum_up(connection: Connection, report: SyncReport) -> None:
    """The refusals not named, in one line (also when a run stops)."""
    if report.errors > NAMED_REFUSALS:
        logger.warning(
            "%d more order events of %s not ingested (%d in all, by code: %s)",
            report.errors - NAMED_REFUSALS,
            connection.shop_ref,
            report.errors,
            report.refused,
        )
