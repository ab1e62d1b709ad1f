import inspect
from collections.abc import AsyncIterable, Callable
from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from operator import attrgetter
from typing import Any, Self
from uuid import UUID

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.schema.name_converter import NameConverter

from api.core.clock import utc_now
from api.customers import models
from api.ladder import rules as ladder_rules
from api.ladder import service as ladder
from api.ledger import service as ledger
from api.orders import service as orders
from api.personalization import service as personalization
from api.program import service as program
from api.rewards import service as rewards
from api.stores.models import Store
from api.tiers import service as tiers
from schema.context import Info
from schema.core.errors import ApiError, UserError
from schema.core.relay import PageSizeGuard, encode_id, selected_names, selects
from schema.ladder.types import LadderStage, StageChange
from schema.ledger.types import (
    PointsLot,
    PointsTransaction,
    PointsTransactionConnection,
)
from schema.orders.types import Order, OrderConnection
from schema.personalization.types import Nudge, NudgeType
from schema.rewards.types import Redemption, RedemptionConnection
from schema.tiers.loaders import TierLoaders
from schema.tiers.types import Tier, TierChange, TierChangeReason, TierProgress

HISTORY_LIMIT = 100


@strawberry.enum(description="Where a customer's external id comes from.")
class Platform(Enum):
    CUSTOM = strawberry.enum_value(
        "custom", description="The store's own id, e.g. from a custom storefront."
    )
    SHOPIFY = strawberry.enum_value("shopify", description="A Shopify customer id.")
    WOOCOMMERCE = strawberry.enum_value(
        "woocommerce", description="A WooCommerce customer id."
    )


@strawberry.type(description="A customer's id on one platform.")
class ExternalId:
    platform: Platform = strawberry.field(
        description="The platform this id belongs to."
    )
    id: str = strawberry.field(description="The id, as the platform writes it.")


def _store(info: Info) -> Store:
    principal = info.context.principal
    if principal is None:  # pragma: no cover - every path to a Customer is guarded
        raise RuntimeError("customer resolved without a principal")
    return principal.store


@strawberry.type(
    description="A person known to the store, enrolled in its programme or not."
)
class Customer(relay.Node):
    id: relay.NodeID[str]
    email: str | None = strawberry.field(
        description="Lower-cased email; null when unknown or redacted by the platform."
    )
    first_name: str | None = strawberry.field(description="Given name.")
    last_name: str | None = strawberry.field(description="Family name.")
    birthday: date | None = strawberry.field(
        description="Date of birth, for birthday rewards."
    )
    marketing_consent: bool = strawberry.field(
        description="Whether the customer agreed to receive marketing."
    )
    is_enrolled: bool = strawberry.field(
        description="Whether the customer joined the loyalty programme."
    )
    enrolled_at: datetime | None = strawberry.field(
        description="When the customer joined the programme (UTC)."
    )
    points_balance: int = strawberry.field(description="Points that can be spent now.")
    points_pending: int = strawberry.field(
        description="Points earned but on hold (the return window): not spendable yet."
    )
    points_lifetime: int = strawberry.field(
        description="Points ever earned from orders and actions, net of reversals."
    )
    stage: LadderStage = strawberry.field(description="Rung on the loyalty ladder.")
    stage_changed_at: datetime | None = strawberry.field(
        description="When the customer reached this rung (UTC)."
    )
    last_order_at: datetime | None = strawberry.field(
        description="Last paid order (UTC)."
    )
    paid_orders: int = strawberry.field(
        description="Paid orders, not counting fully refunded or cancelled ones."
    )
    created_at: datetime = strawberry.field(description="When Ladder first knew them.")
    updated_at: datetime = strawberry.field(description="Last change to this record.")
    row: strawberry.Private[models.Customer]
    # The request's tier loader (the store's tiers, read once per request).
    tiers: strawberry.Private[TierLoaders]

    @strawberry.field(description="The customer's ids on the store's platforms.")
    async def external_ids(self, info: Info) -> list[ExternalId]:
        rows = await info.context.loaders.customers.identities.load(self.row.id)
        return [
            ExternalId(platform=Platform[row.platform.name], id=row.external_id)
            for row in rows
        ]

    @strawberry.field(description="The tier held now; null without one.")
    def tier(self) -> Tier | None:
        # Sync on purpose: lists preload the store's tiers, and a coroutine per
        # row costs more than the lookup (research/stack.md §2.5). Only `self`:
        # the executor then calls it without a resolve info per row
        # (schema/core/execution.py).
        if self.row.tier_id is None:
            return None
        loaders = self.tiers
        if loaders.known is None:
            return self._load_tier(self.row.tier_id)  # type: ignore[return-value]  # graphql-core awaits it
        # One Tier per request, shared by the rows of a page that hold it.
        shown = loaders.shown.get(self.row.tier_id)
        if shown is None:
            row = loaders.known.get(self.row.tier_id)
            if row is None:
                return None
            shown = loaders.shown[self.row.tier_id] = Tier.from_row(row)
        return shown

    async def _load_tier(self, tier_id: UUID) -> Tier | None:
        row = await self.tiers.get(tier_id)
        return Tier.from_row(row) if row else None

    @strawberry.field(
        description="True when the customer bought before but not within the store's "
        "quiet period (programSettings.lapseDays): they may have gone elsewhere."
    )
    def is_lapsed(self, info: Info) -> bool:
        settings = program.settings(_store(info))
        return ladder_rules.is_lapsed(self.row.last_order_at, settings, utc_now())

    @strawberry.field(
        description="Tier progress: the next tier and how far it is, and what keeps "
        "the current one at its review. One customer at a time: refused in lists."
    )
    async def tier_progress(self, info: Info) -> TierProgress:
        _one_customer_at_a_time(info, "tierProgress")
        progress = await info.context.loaders.tiers.progress(self.row)
        return TierProgress(
            current_tier=Tier.from_row(progress.current) if progress.current else None,
            next_tier=Tier.from_row(progress.next) if progress.next else None,
            metric=progress.metric,
            amount_to_next=progress.amount_to_next,
            review_at=progress.review_at,
            amount_to_keep=progress.amount_to_keep,
        )

    @strawberry.field(description="Moves between tiers, newest first (last 100).")
    async def tier_history(self, info: Info) -> list[TierChange]:
        rows = await tiers.history(_store(info), self.row.id).limit(HISTORY_LIMIT)
        return [
            TierChange(
                from_tier_id=encode_id("Tier", r.from_tier_id)
                if r.from_tier_id
                else None,
                to_tier_id=encode_id("Tier", r.to_tier_id) if r.to_tier_id else None,
                reason=TierChangeReason[r.reason.name],
                note=r.note,
                created_at=r.created_at,
            )
            for r in rows
        ]

    @strawberry.field(
        description="Moves on the loyalty ladder, newest first (last 100)."
    )
    async def stage_history(self, info: Info) -> list[StageChange]:
        rows = await ladder.history(_store(info), self.row.id).limit(HISTORY_LIMIT)
        return [
            StageChange(
                from_stage=LadderStage[r.from_stage.name] if r.from_stage else None,
                to_stage=LadderStage[r.to_stage.name],
                cause=r.cause,
                created_at=r.created_at,
            )
            for r in rows
        ]

    @relay.connection(
        PointsTransactionConnection,
        description="The points ledger of this customer, newest first, with reasons.",
    )
    def points_transactions(self, info: Info) -> AsyncIterable[PointsTransaction]:
        return ledger.history(_store(info), self.row.id)  # type: ignore[no-any-return]

    @strawberry.field(
        description="Lots with points left, in the order they will be spent: why the "
        "balance is what it is (earned, pending until, expiring at, remaining). "
        "One customer at a time: refused in lists."
    )
    async def points_lots(self, info: Info) -> list[PointsLot]:
        _one_customer_at_a_time(info, "pointsLots")
        lots = await ledger.open_lots(_store(info), self.row.id)
        reasons = await ledger.reasons_of(_store(info), [lot.origin_id for lot in lots])
        now = utc_now()
        return [
            PointsLot(
                id=encode_id("PointsLot", lot.id),
                points=lot.points,
                remaining=lot.remaining,
                earned_at=lot.created_at,
                available_at=lot.available_at,
                is_pending=lot.available_at > now,
                expires_at=lot.expires_at,
                reason=reasons.get(lot.origin_id, ""),
            )
            for lot in lots
        ]

    @relay.connection(
        OrderConnection, description="The customer's orders, newest first."
    )
    def orders(self, info: Info) -> AsyncIterable[Order]:
        return orders.orders_of(_store(info), self.row.id)  # type: ignore[no-any-return]

    @relay.connection(
        RedemptionConnection, description="Rewards the customer redeemed, newest first."
    )
    def redemptions(self, info: Info) -> AsyncIterable[Redemption]:
        return rewards.redemptions_of(_store(info), self.row.id)  # type: ignore[no-any-return]

    @strawberry.field(
        description="What to tell the shopper now (next reward, tier progress, points "
        "expiring, birthday, thank-you). One customer at a time: refused in lists."
    )
    async def nudges(self, info: Info) -> list[Nudge]:
        _one_customer_at_a_time(info, "nudges")
        found = await personalization.nudges_for(
            _store(info),
            self.row,
            progress=await info.context.loaders.tiers.progress(self.row),
        )
        return [
            Nudge(type=NudgeType[n.type.name], data=JSON(_with_global_ids(n.data)))
            for n in found
        ]

    @classmethod
    def from_row(cls, row: models.Customer, info: Info) -> Self:
        return cls(
            **{name: read(row) for name, (_, read) in _FROM_ROW.items()},
            row=row,
            tiers=info.context.loaders.tiers,
        )


def _column(
    name: str, shown: Callable[[Any], Any] | None = None
) -> tuple[str, Callable[[models.Customer], Any]]:
    """A row's column, and how a Customer reads it (as it is, or `shown`)."""
    read = attrgetter(name)
    if shown is None:
        return name, read
    return name, lambda row: shown(read(row))


# Each field a Customer copies from its row: the column and how it is read.
_FROM_ROW: dict[str, tuple[str, Callable[[models.Customer], Any]]] = {
    "id": _column("id", str),
    "email": _column("email"),
    "first_name": _column("first_name"),
    "last_name": _column("last_name"),
    "birthday": _column("birthday"),
    "marketing_consent": _column("marketing_consent"),
    "is_enrolled": _column("enrolled"),
    "enrolled_at": _column("enrolled_at"),
    "points_balance": _column("points_balance"),
    "points_pending": _column("points_pending"),
    "points_lifetime": _column("points_lifetime"),
    "stage": _column("stage", lambda stage: LadderStage[stage.name]),
    "stage_changed_at": _column("stage_changed_at"),
    "last_order_at": _column("last_order_at"),
    "paid_orders": _column("paid_orders"),
    "created_at": _column("created_at"),
    "updated_at": _column("updated_at"),
}


class ListedCustomer(Customer):
    """A customer of a page: each field reads the row when it is asked for.
    A page asks for a few fields of each row; copying all seventeen, through
    the dataclass's keyword constructor, cost more than reading them."""

    def __init__(self, row: models.Customer, tiers: TierLoaders):
        self.row, self.tiers = row, tiers


def _reading(read: Callable[[models.Customer], Any]) -> property:
    def field(self: ListedCustomer) -> Any:
        return read(self.row)

    return property(field)


for _name, (_, _read) in _FROM_ROW.items():
    setattr(ListedCustomer, _name, _reading(_read))


def _one_customer_at_a_time(info: Info, field: str) -> None:
    """Fields that run several queries per customer are refused inside a list:
    a page of 100 under 15 aliases would otherwise run thousands of queries."""
    if any(isinstance(key, int) for key in info.path.as_list()):
        raise ApiError(
            "BAD_USER_INPUT",
            f"`{field}` is read one customer at a time: ask for it through "
            "`me` or `customer(id:)`, not in a list.",
        )


def _with_global_ids(data: dict[str, object]) -> dict[str, object]:
    """Nudges name rewards by the same global id rewardRedeem takes."""
    if "rewardId" in data:
        return {**data, "rewardId": encode_id("Reward", data["rewardId"])}
    return data


# What a listed customer is built from: the columns `Customer.from_row`
# copies, and the tier the `tier` field reads (other fields that need more are
# refused in lists: `_one_customer_at_a_time`). The others (timestamps most of
# all) cost a page ~0.2 ms to decode and map for nothing.
LISTED_COLUMNS = (*(column for column, _ in _FROM_ROW.values()), "tier_id")
# The columns a listed customer's field reads, beside `id` (read by every
# page: relay ids, and what loads or refuses per customer). A field not named
# here reads all of LISTED_COLUMNS.
_LISTED_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    **{name: (column,) for name, (column, _) in _FROM_ROW.items()},
    "tier": ("tier_id",),
    "is_lapsed": ("last_order_at",),
    **dict.fromkeys(
        (
            "external_ids",
            "orders",
            "points_transactions",
            "redemptions",
            "tier_history",
            "stage_history",
        ),
        (),
    ),
}


def listed_columns(info: Info) -> tuple[str, ...]:
    """The columns a page of customers reads: those its nodes' fields read.
    A page asking for five fields decodes and maps five columns, not
    eighteen."""
    return _columns_for(
        selected_names(info, "edges", "node"), info.schema.config.name_converter
    )


@lru_cache(maxsize=256)  # selections are the callers': bounded
def _columns_for(selected: frozenset[str], names: NameConverter) -> tuple[str, ...]:
    by_graphql_name = {
        names.apply_naming_config(field): columns
        for field, columns in _LISTED_FIELD_COLUMNS.items()
    } | {"__typename": ()}
    wanted = {"id"}
    for name in selected:
        columns = by_graphql_name.get(name)
        if columns is None:
            return LISTED_COLUMNS
        wanted.update(columns)
    # In LISTED_COLUMNS' order: one statement text per set of columns.
    return tuple(column for column in LISTED_COLUMNS if column in wanted)


@strawberry.type(description="Customers, a page at a time (at most 100 per page).")
class CustomerConnection(PageSizeGuard, relay.ListConnection[Customer]):
    @classmethod
    def resolve_connection(cls, nodes: Any, *, info: Info, **kwargs: Any) -> Any:
        page = super().resolve_connection(nodes, info=info, **kwargs)
        if not inspect.isawaitable(page):
            return page

        async def with_tiers() -> Any:
            # Once the page is read, before its fields resolve: the store's
            # tiers in one query, only when there are rows that show a tier.
            connection = await page
            if connection.edges and selects(info, "edges", "node", "tier"):
                await info.context.loaders.tiers.preload()
            return connection

        return with_tiers()

    @classmethod
    def resolve_node(
        cls, node: models.Customer, *, info: Info, **kwargs: object
    ) -> Customer:
        return ListedCustomer(node, info.context.loaders.tiers)


@strawberry.enum(description="Why a customer mutation failed.")
class CustomerErrorCode(Enum):
    INVALID = strawberry.enum_value("invalid", description="A value is malformed.")
    INVALID_EMAIL = strawberry.enum_value(
        "invalid_email", description="The email is not a valid address."
    )
    INVALID_BIRTHDAY = strawberry.enum_value(
        "invalid_birthday", description="The birthday is in the future or before 1900."
    )
    NOT_FOUND = strawberry.enum_value(
        "not_found", description="No customer of this store has that id."
    )


@strawberry.type(description="A problem with the input of a customer mutation.")
class CustomerError(UserError):
    code: CustomerErrorCode = strawberry.field(description="Stable code to branch on.")
