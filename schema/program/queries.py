from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from tortoise.transactions import in_transaction

from api.core.errors import DomainError
from api.core.money import Rounding as DomainRounding
from api.program import service
from api.simulation import service as simulation
from schema.context import Info
from schema.core.errors import ApiError
from schema.core.permissions import IsAuthenticated, IsSecretKey, caller
from schema.core.relay import encode_id
from schema.program.types import (
    AffectedCustomer,
    Campaign,
    EarningRule,
    ProgramSettings,
    Rounding,
    SimulationReport,
    TierCount,
)


@strawberry.input(description="A tier in a proposal.")
class ProposedTierInput:
    name: str = strawberry.field(description="Tier name.")
    threshold: int = strawberry.field(description="Qualifying spend or points.")
    multiplier: Decimal = strawberry.field(
        default=Decimal(1), description="Multiplier."
    )


@strawberry.input(
    description="A change to replay over past orders. Nothing is written."
)
class ProgramSimulateInput:
    since: datetime = strawberry.field(description="Start of the range of paid orders.")
    until: datetime = strawberry.field(description="End of the range (exclusive).")
    points_per_unit: Decimal | None = strawberry.field(
        default=None, description="Proposed points per currency unit; null: as now."
    )
    rounding: Rounding | None = strawberry.field(
        default=None, description="Proposed rounding."
    )
    tiers: list[ProposedTierInput] | None = strawberry.field(
        default=None, description="Proposed tiers (at most 20); null: as now."
    )
    most_affected: int = strawberry.field(
        default=10,
        description="How many most-affected customers to list (at most 100).",
    )


def _counts(counts: dict[str, int]) -> list[TierCount]:
    return [TierCount(tier=k, customers=v) for k, v in sorted(counts.items())]


@strawberry.type
class ProgramQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated], description="The programme's settings."
    )
    def program_settings(self, info: Info) -> ProgramSettings:
        return ProgramSettings.from_settings(service.settings(caller(info).store))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="How customers earn points (public: storefronts explain them).",
    )
    async def earning_rules(self, info: Info) -> list[EarningRule]:
        return [
            EarningRule.from_row(r)
            for r in await service.list_rules(caller(info).store)
        ]

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Promotions, latest start first (public: storefronts announce them).",
    )
    async def campaigns(self, info: Info) -> list[Campaign]:
        rows = await service.list_campaigns(caller(info).store)
        return [Campaign.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=[IsSecretKey],
        description="Replay a proposed change to earning or tiers over real past orders "
        "and report its effect. Writes nothing.",
    )
    async def program_simulate(
        self,
        info: Info,
        input: Annotated[
            ProgramSimulateInput, strawberry.argument(description="The proposal.")
        ],
    ) -> SimulationReport:
        if input.tiers is not None and len(input.tiers) > 20:
            raise ApiError("BAD_USER_INPUT", "At most 20 proposed tiers.")
        try:
            async with in_transaction():  # read-only, but one consistent snapshot
                report = await simulation.simulate(
                    caller(info).store,
                    since=input.since,
                    until=input.until,
                    points_per_unit=input.points_per_unit,
                    rounding=DomainRounding[input.rounding.name]
                    if input.rounding
                    else None,
                    proposed_tiers=[
                        simulation.ProposedTier(t.name, t.threshold, t.multiplier)
                        for t in input.tiers
                    ]
                    if input.tiers is not None
                    else None,
                    limit=max(0, min(input.most_affected, 100)),
                )
        except DomainError as error:
            raise ApiError("BAD_USER_INPUT", error.message) from error
        return SimulationReport(
            orders=report.orders,
            points_actual=report.points_actual,
            points_proposed=report.points_proposed,
            tiers_before=_counts(report.tiers_before),
            tiers_after=_counts(report.tiers_after),
            most_affected=[
                AffectedCustomer(
                    customer_id=encode_id("Customer", c.id),
                    email=c.email,
                    points_actual=actual,
                    points_proposed=proposed,
                )
                for c, actual, proposed in report.most_affected
            ],
        )
