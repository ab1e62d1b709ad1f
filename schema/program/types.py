from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Self

import strawberry
from strawberry import relay

from api.core.money import plain
from api.program import models
from api.program.rules import ProgramSettings as Settings
from schema.core.errors import UserError
from schema.core.relay import encode_id


@strawberry.enum(description="What qualifies a customer for a tier.")
class TierBasis(Enum):
    SPEND = strawberry.enum_value(
        "spend", description="Eligible spend, in minor units."
    )
    POINTS = strawberry.enum_value("points", description="Points earned.")


@strawberry.enum(description="Which period tier qualification counts.")
class TierWindow(Enum):
    ROLLING = strawberry.enum_value(
        "rolling", description="The last tierWindowDays days."
    )
    CALENDAR_YEAR = strawberry.enum_value(
        "calendar_year", description="The calendar year, in the store's timezone."
    )


@strawberry.enum(description="What earns points.")
class RuleKind(Enum):
    ORDER_SPEND = strawberry.enum_value("order_spend", description="Each paid order.")
    ENROLLMENT = strawberry.enum_value(
        "enrollment", description="Joining the programme."
    )
    BIRTHDAY = strawberry.enum_value(
        "birthday", description="The birthday, once a year."
    )
    REFERRAL = strawberry.enum_value("referral", description="A converted referral.")
    REVIEW = strawberry.enum_value("review", description="A product review.")
    SURVEY = strawberry.enum_value("survey", description="An answered survey.")
    COMMUNITY_POST = strawberry.enum_value(
        "community_post", description="A community post."
    )


@strawberry.enum(description="How fractional points become whole points.")
class Rounding(Enum):
    DOWN = strawberry.enum_value("down", description="Always down (the default).")
    NEAREST = strawberry.enum_value("nearest", description="To the nearest, halves up.")
    UP = strawberry.enum_value("up", description="Always up.")


@strawberry.enum(description="The period a cap counts over, in the store's timezone.")
class CapPeriod(Enum):
    DAY = strawberry.enum_value("day", description="Calendar day.")
    WEEK = strawberry.enum_value("week", description="Monday to Sunday.")
    MONTH = strawberry.enum_value("month", description="Calendar month.")
    YEAR = strawberry.enum_value("year", description="Calendar year.")
    LIFETIME = strawberry.enum_value("lifetime", description="Ever.")


@strawberry.type(description="Store-wide programme settings.")
class ProgramSettings:
    pending_days: int = strawberry.field(
        description="Days order points stay pending (e.g. the return window)."
    )
    expiry_days: int | None = strawberry.field(
        description="Days after which earned points expire; null: never."
    )
    expiry_warning_days: int = strawberry.field(
        description="Days before expiry that a POINTS_EXPIRING nudge appears."
    )
    tier_basis: TierBasis = strawberry.field(description="What qualifies for tiers.")
    tier_window: TierWindow = strawberry.field(description="Which period counts.")
    tier_window_days: int = strawberry.field(description="Length of a rolling window.")
    tier_warning_days: int = strawberry.field(
        description="Days before a tier review that a TIER_AT_RISK nudge appears."
    )
    client_min_orders: int = strawberry.field(
        description="Paid orders that make a customer a CLIENT on the ladder."
    )
    advocate_min_orders: int = strawberry.field(
        description="Paid orders an ADVOCATE needs (plus a recommendation)."
    )
    lapse_days: int = strawberry.field(
        description="Days without an order after which a buyer counts as lapsed."
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            pending_days=settings.pending_days,
            expiry_days=settings.expiry_days,
            expiry_warning_days=settings.expiry_warning_days,
            tier_basis=TierBasis[settings.tier_basis.name],
            tier_window=TierWindow[settings.tier_window.name],
            tier_window_days=settings.tier_window_days,
            tier_warning_days=settings.tier_warning_days,
            client_min_orders=settings.client_min_orders,
            advocate_min_orders=settings.advocate_min_orders,
            lapse_days=settings.lapse_days,
        )


@strawberry.type(description="A way to earn points.")
class EarningRule(relay.Node):
    id: relay.NodeID[str]
    kind: RuleKind = strawberry.field(description="What earns.")
    name: str = strawberry.field(description="Shown in ledger entries it creates.")
    is_active: bool = strawberry.field(description="Switched on.")
    points: int = strawberry.field(description="Fixed points, for action kinds.")
    points_per_unit: Decimal = strawberry.field(
        description="Points per major currency unit of eligible spend, for ORDER_SPEND."
    )
    rounding: Rounding = strawberry.field(description="How fractions are rounded.")
    cap_points: int | None = strawberry.field(description="Most points per cap period.")
    cap_period: CapPeriod | None = strawberry.field(description="The cap's period.")

    @classmethod
    def from_row(cls, row: models.EarningRule) -> Self:
        return cls(
            id=str(row.id),
            kind=RuleKind[row.kind.name],
            name=row.name,
            is_active=row.active,
            points=row.points,
            points_per_unit=plain(row.points_per_unit),
            rounding=Rounding[row.rounding.name],
            cap_points=row.cap_points,
            cap_period=CapPeriod[row.cap_period.name] if row.cap_period else None,
        )


@strawberry.type(
    description="A time-boxed promotion: a multiplier and/or a fixed bonus."
)
class Campaign(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Shown in the entries it creates.")
    starts_at: datetime = strawberry.field(description="Start (UTC, inclusive).")
    ends_at: datetime = strawberry.field(description="End (UTC, exclusive).")
    multiplier: Decimal = strawberry.field(
        description="Multiplies rule points (the best running campaign applies)."
    )
    bonus_points: int = strawberry.field(
        description="Fixed bonus per qualifying event."
    )
    tier_ids: list[strawberry.ID] = strawberry.field(
        description="Only for these tiers; empty: everyone."
    )
    kinds: list[RuleKind] = strawberry.field(
        description="Which earning kinds it boosts."
    )
    is_active: bool = strawberry.field(description="Switched on.")

    @classmethod
    def from_row(cls, row: models.Campaign) -> Self:
        return cls(
            id=str(row.id),
            name=row.name,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            multiplier=plain(row.multiplier),
            bonus_points=row.bonus_points,
            tier_ids=[encode_id("Tier", t) for t in row.tier_ids],
            kinds=[RuleKind[k.upper()] for k in row.kinds] or [RuleKind.ORDER_SPEND],
            is_active=row.active,
        )


@strawberry.type(description="Customers in one tier.")
class TierCount:
    tier: str = strawberry.field(description="Tier name, or (no tier).")
    customers: int = strawberry.field(description="How many customers.")


@strawberry.type(description="A customer the proposal would change most.")
class AffectedCustomer:
    customer_id: strawberry.ID = strawberry.field(description="The customer.")
    email: str | None = strawberry.field(description="Their email, if known.")
    points_actual: int = strawberry.field(
        description="Points their orders really earned."
    )
    points_proposed: int = strawberry.field(description="Points under the proposal.")


@strawberry.type(
    description="What a proposed change would have done. Nothing is written."
)
class SimulationReport:
    orders: int = strawberry.field(description="Paid orders replayed.")
    points_actual: int = strawberry.field(
        description="Points they really earned (net)."
    )
    points_proposed: int = strawberry.field(description="Points under the proposal.")
    tiers_before: list[TierCount] = strawberry.field(
        description="Tiers those customers hold now."
    )
    tiers_after: list[TierCount] = strawberry.field(
        description="Tiers they would hold under the proposal, over the range."
    )
    most_affected: list[AffectedCustomer] = strawberry.field(
        description="Customers whose points change most, largest first."
    )


@strawberry.enum(description="Why a programme mutation failed.")
class ProgramErrorCode(Enum):
    INVALID = strawberry.enum_value("invalid", description="A value is out of range.")
    NOT_FOUND = strawberry.enum_value(
        "not_found", description="No such rule or campaign."
    )


@strawberry.type(description="A problem with the input of a programme mutation.")
class ProgramError(UserError):
    code: ProgramErrorCode = strawberry.field(description="Stable code to branch on.")
