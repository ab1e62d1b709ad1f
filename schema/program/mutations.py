from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from tortoise.transactions import in_transaction

from api.core.errors import DomainError
from api.core.money import Rounding as DomainRounding
from api.program import service
from api.program.errors import ProgramError as DomainProgramError
from api.program.errors import ProgramErrorCode as DomainCode
from api.program.rules import CapPeriod as DomainCapPeriod
from api.program.rules import RuleKind as DomainKind
from api.program.rules import TierBasis as DomainBasis
from api.program.rules import TierWindow as DomainWindow
from schema.context import Info
from schema.core.arguments import INPUT
from schema.core.errors import graphql_code, user_errors
from schema.core.permissions import IsSecretKey, caller
from schema.core.relay import decode_id
from schema.program.types import (
    Campaign,
    CapPeriod,
    EarningRule,
    ProgramError,
    ProgramErrorCode,
    ProgramSettings,
    Rounding,
    RuleKind,
    TierBasis,
    TierWindow,
)


def _error(error: DomainError) -> ProgramError:
    return ProgramError(
        code=graphql_code(ProgramErrorCode, error),
        field=error.field,
        message=error.message,
    )


def _not_found(what: str) -> DomainProgramError:
    return DomainProgramError(DomainCode.NOT_FOUND, f"No such {what}.", field="id")


@strawberry.input(description="Settings to change; fields left out keep their value.")
class ProgramSettingsUpdateInput:
    pending_days: int | None = strawberry.field(default=None, description="0-365.")
    expiry_days: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Days to expiry; null: points never expire.",
    )
    expiry_warning_days: int | None = strawberry.field(
        default=None, description="0-365."
    )
    tier_basis: TierBasis | None = strawberry.field(
        default=None, description="Spend or points."
    )
    tier_window: TierWindow | None = strawberry.field(
        default=None, description="The window."
    )
    tier_window_days: int | None = strawberry.field(
        default=None, description="30-1095."
    )
    tier_warning_days: int | None = strawberry.field(default=None, description="0-365.")
    client_min_orders: int | None = strawberry.field(default=None, description="2-100.")
    advocate_min_orders: int | None = strawberry.field(
        default=None, description="2-100."
    )
    lapse_days: int | None = strawberry.field(default=None, description="30-3650.")

    def changes(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in (
            "pending_days",
            "expiry_warning_days",
            "tier_window_days",
            "tier_warning_days",
            "client_min_orders",
            "advocate_min_orders",
            "lapse_days",
        ):
            if getattr(self, name) is not None:
                found[name] = getattr(self, name)
        if self.expiry_days is not strawberry.UNSET:
            found["expiry_days"] = self.expiry_days
        if self.tier_basis is not None:
            found["tier_basis"] = DomainBasis[self.tier_basis.name]
        if self.tier_window is not None:
            found["tier_window"] = DomainWindow[self.tier_window.name]
        return found


@strawberry.input(description="An earning rule.")
class EarningRuleInput:
    kind: RuleKind = strawberry.field(description="What earns.")
    name: str = strawberry.field(description="1-100 characters.")
    points: int = strawberry.field(
        default=0, description="Fixed points, for action kinds."
    )
    points_per_unit: Decimal = strawberry.field(
        default=Decimal(0), description="Per major currency unit, for ORDER_SPEND."
    )
    rounding: Rounding = strawberry.field(
        default=Rounding.DOWN, description="Rounding."
    )
    cap_points: int | None = strawberry.field(
        default=None, description="Cap per period."
    )
    cap_period: CapPeriod | None = strawberry.field(
        default=None, description="Cap period."
    )
    is_active: bool = strawberry.field(default=True, description="Switched on.")

    def to_fields(self) -> service.RuleFields:
        return service.RuleFields(
            kind=DomainKind[self.kind.name],
            name=self.name,
            points=self.points,
            points_per_unit=self.points_per_unit,
            rounding=DomainRounding[self.rounding.name],
            cap_points=self.cap_points,
            cap_period=DomainCapPeriod[self.cap_period.name]
            if self.cap_period
            else None,
            active=self.is_active,
        )


@strawberry.input(description="Change an earning rule (all fields are replaced).")
class EarningRuleUpdateInput(EarningRuleInput):
    id: strawberry.ID = strawberry.field(description="The rule.")


@strawberry.input(description="A campaign.")
class CampaignInput:
    name: str = strawberry.field(description="1-100 characters.")
    starts_at: datetime = strawberry.field(description="Start (inclusive).")
    ends_at: datetime = strawberry.field(description="End (exclusive).")
    multiplier: Decimal = strawberry.field(default=Decimal(1), description="1-10.")
    bonus_points: int = strawberry.field(
        default=0, description="Fixed bonus per event."
    )
    tier_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Only these tiers; empty: everyone."
    )
    kinds: list[RuleKind] = strawberry.field(
        default_factory=lambda: [RuleKind.ORDER_SPEND], description="Kinds it boosts."
    )
    is_active: bool = strawberry.field(default=True, description="Switched on.")

    def to_fields(self) -> service.CampaignFields:
        tier_ids = [decode_id(t, "Tier") for t in self.tier_ids]
        if any(t is None for t in tier_ids):
            raise DomainProgramError(
                DomainCode.INVALID, "Unknown tier id.", field="tierIds"
            )
        return service.CampaignFields(
            name=self.name,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            multiplier=self.multiplier,
            bonus_points=self.bonus_points,
            tier_ids=tuple(t for t in tier_ids if t is not None),
            kinds=tuple(DomainKind[k.name] for k in self.kinds),
            active=self.is_active,
        )


@strawberry.input(description="Change a campaign (all fields are replaced).")
class CampaignUpdateInput(CampaignInput):
    id: strawberry.ID = strawberry.field(description="The campaign.")


@strawberry.type(description="Result of programSettingsUpdate.")
class ProgramSettingsUpdatePayload:
    settings: ProgramSettings | None = strawberry.field(description="Settings after.")
    user_errors: list[ProgramError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="Result of an earning rule mutation.")
class EarningRulePayload:
    earning_rule: EarningRule | None = strawberry.field(
        description="The rule, when saved."
    )
    user_errors: list[ProgramError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="Result of a campaign mutation.")
class CampaignPayload:
    campaign: Campaign | None = strawberry.field(
        description="The campaign, when saved."
    )
    user_errors: list[ProgramError] = strawberry.field(description="Empty on success.")


@strawberry.type
class ProgramMutation:
    @strawberry.mutation(
        permission_classes=[IsSecretKey], description="Change programme settings."
    )
    async def program_settings_update(
        self, info: Info, input: Annotated[ProgramSettingsUpdateInput, INPUT]
    ) -> ProgramSettingsUpdatePayload | None:
        try:
            async with in_transaction():
                updated = await service.update_settings(
                    caller(info).store, input.changes()
                )
        except DomainError as error:
            return ProgramSettingsUpdatePayload(
                settings=None, user_errors=user_errors(error, _error)
            )
        return ProgramSettingsUpdatePayload(
            settings=ProgramSettings.from_settings(updated), user_errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsSecretKey], description="Add an earning rule."
    )
    async def earning_rule_create(
        self, info: Info, input: Annotated[EarningRuleInput, INPUT]
    ) -> EarningRulePayload | None:
        try:
            async with in_transaction():
                row = await service.save_rule(caller(info).store, input.to_fields())
        except DomainError as error:
            return EarningRulePayload(
                earning_rule=None, user_errors=user_errors(error, _error)
            )
        return EarningRulePayload(
            earning_rule=EarningRule.from_row(row), user_errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsSecretKey], description="Change an earning rule."
    )
    async def earning_rule_update(
        self, info: Info, input: Annotated[EarningRuleUpdateInput, INPUT]
    ) -> EarningRulePayload | None:
        try:
            rule_id = decode_id(input.id, "EarningRule")
            if rule_id is None:
                raise _not_found("earning rule")
            async with in_transaction():
                row = await service.save_rule(
                    caller(info).store, input.to_fields(), rule_id=rule_id
                )
        except DomainError as error:
            return EarningRulePayload(
                earning_rule=None, user_errors=user_errors(error, _error)
            )
        return EarningRulePayload(
            earning_rule=EarningRule.from_row(row), user_errors=[]
        )

    @strawberry.mutation(
        permission_classes=[IsSecretKey], description="Add a campaign."
    )
    async def campaign_create(
        self, info: Info, input: Annotated[CampaignInput, INPUT]
    ) -> CampaignPayload | None:
        try:
            async with in_transaction():
                row = await service.save_campaign(caller(info).store, input.to_fields())
        except DomainError as error:
            return CampaignPayload(
                campaign=None, user_errors=user_errors(error, _error)
            )
        return CampaignPayload(campaign=Campaign.from_row(row), user_errors=[])

    @strawberry.mutation(
        permission_classes=[IsSecretKey], description="Change a campaign."
    )
    async def campaign_update(
        self, info: Info, input: Annotated[CampaignUpdateInput, INPUT]
    ) -> CampaignPayload | None:
        try:
            campaign_id = decode_id(input.id, "Campaign")
            if campaign_id is None:
                raise _not_found("campaign")
            async with in_transaction():
                row = await service.save_campaign(
                    caller(info).store, input.to_fields(), campaign_id=campaign_id
                )
        except DomainError as error:
            return CampaignPayload(
                campaign=None, user_errors=user_errors(error, _error)
            )
        return CampaignPayload(campaign=Campaign.from_row(row), user_errors=[])
