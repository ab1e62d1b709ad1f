from datetime import datetime
from enum import Enum
from typing import Self

import strawberry
from strawberry import relay

from api.ledger import models
from schema.core.errors import UserError
from schema.core.relay import PageSizeGuard


@strawberry.enum(description="What kind of ledger entry this is.")
class TransactionKind(Enum):
    EARN = strawberry.enum_value(
        "earn", description="Points for an order or an action."
    )
    BONUS = strawberry.enum_value("bonus", description="A campaign's fixed bonus.")
    REDEEM = strawberry.enum_value("redeem", description="Spent on a reward.")
    ADJUST = strawberry.enum_value(
        "adjust", description="Set by the merchant, with a reason."
    )
    EXPIRE = strawberry.enum_value(
        "expire", description="Points that reached their expiry date."
    )
    REVERSE = strawberry.enum_value(
        "reverse",
        description="Taken back after a refund or cancellation, or returned from a "
        "cancelled redemption.",
    )


@strawberry.type(
    description="One entry of the points ledger. Entries are never edited."
)
class PointsTransaction(relay.Node):
    id: relay.NodeID[str]
    kind: TransactionKind = strawberry.field(description="What kind of entry.")
    points: int = strawberry.field(
        description="Signed: positive adds, negative takes away."
    )
    reason: str = strawberry.field(
        description="Readable reason, to show to the customer."
    )
    source_type: str = strawberry.field(
        description="What caused it: order, redemption, action, manual, lot, or empty."
    )
    source_id: str = strawberry.field(
        description="Id of the cause (e.g. the order's id)."
    )
    rule_id: strawberry.ID | None = strawberry.field(
        description="The earning rule that gave these points, for earn and bonus entries."
    )
    campaign_id: strawberry.ID | None = strawberry.field(
        description="The campaign that multiplied or added to them, if any."
    )
    created_at: datetime = strawberry.field(description="When (UTC).")

    @classmethod
    def from_row(cls, row: models.PointsTransaction) -> Self:
        return cls(
            id=str(row.id),
            kind=TransactionKind[row.kind.name],
            points=row.points,
            reason=row.reason,
            source_type=row.source_type,
            source_id=row.source_id,
            rule_id=strawberry.ID(relay.to_base64("EarningRule", row.rule_id))
            if row.rule_id
            else None,
            campaign_id=strawberry.ID(relay.to_base64("Campaign", row.campaign_id))
            if row.campaign_id
            else None,
            created_at=row.created_at,
        )


@strawberry.type(description="Ledger entries, newest first, a page at a time.")
class PointsTransactionConnection(
    PageSizeGuard, relay.ListConnection[PointsTransaction]
):
    @classmethod
    def resolve_node(
        cls, node: models.PointsTransaction, *, info: object, **kwargs: object
    ) -> PointsTransaction:
        return PointsTransaction.from_row(node)


@strawberry.type(
    description="Points earned together: they become spendable, are spent and expire "
    "together. Lots explain a balance: spendable points are the remaining points of "
    "lots that are not pending."
)
class PointsLot:
    id: strawberry.ID = strawberry.field(description="Lot id.")
    points: int = strawberry.field(description="Points the lot started with.")
    remaining: int = strawberry.field(
        description="Points not yet spent, reversed or expired."
    )
    earned_at: datetime = strawberry.field(description="When the points were credited.")
    available_at: datetime = strawberry.field(description="When they can be spent.")
    is_pending: bool = strawberry.field(
        description="True until available_at has passed."
    )
    expires_at: datetime | None = strawberry.field(
        description="When they expire; null: never."
    )
    reason: str = strawberry.field(description="Why the points were credited.")


@strawberry.enum(description="Why a points mutation failed.")
class LedgerErrorCode(Enum):
    INVALID = strawberry.enum_value("invalid", description="A value is out of range.")
    INSUFFICIENT_POINTS = strawberry.enum_value(
        "insufficient_points", description="Not enough spendable points."
    )
    NOT_FOUND = strawberry.enum_value("not_found", description="No such customer.")
    INVALID_KEY = strawberry.enum_value(
        "invalid_key", description="The idempotency key is empty or too long."
    )
    KEY_REUSED = strawberry.enum_value(
        "key_reused",
        description="The idempotency key was used for a different request.",
    )


@strawberry.type(description="A problem with the input of a points mutation.")
class LedgerError(UserError):
    code: LedgerErrorCode = strawberry.field(description="Stable code to branch on.")
