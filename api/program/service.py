"""Programme configuration: settings, earning rules and campaigns."""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from api.core.money import Rounding
from api.program.errors import ProgramError, ProgramErrorCode
from api.program.models import Campaign, EarningRule
from api.program.rules import (
    CampaignTerms,
    CapPeriod,
    EarnRule,
    ProgramSettings,
    RuleKind,
)
from api.stores.models import Store

MAX_RULES = 50


def settings(store: Store) -> ProgramSettings:
    return ProgramSettings.from_json(store.program_settings)


async def update_settings(store: Store, changes: dict[str, Any]) -> ProgramSettings:
    """Change some settings; the rest keep their value. Validated as a whole."""
    updated = replace(settings(store), **changes).validate()
    store.program_settings = updated.to_json()
    await store.save(update_fields=["program_settings", "updated_at"])
    return updated


def as_rule(row: EarningRule) -> EarnRule:
    return EarnRule(
        id=row.id,
        kind=row.kind,
        name=row.name,
        points=row.points,
        points_per_unit=Decimal(row.points_per_unit),
        rounding=row.rounding,
        cap_points=row.cap_points,
        cap_period=row.cap_period,
    )


def as_terms(row: Campaign) -> CampaignTerms:
    return CampaignTerms(
        id=row.id,
        name=row.name,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        multiplier=Decimal(row.multiplier),
        bonus_points=row.bonus_points,
        tier_ids=frozenset(UUID(t) for t in row.tier_ids),
        kinds=frozenset(RuleKind(k) for k in row.kinds)
        or frozenset({RuleKind.ORDER_SPEND}),
    )


async def active_rules(store: Store, kind: RuleKind | None = None) -> list[EarnRule]:
    """The store's switched-on rules (of one kind if given), oldest first."""
    rows = EarningRule.filter(store_id=store.id, active=True)
    if kind is not None:
        rows = rows.filter(kind=kind)
    return [as_rule(r) for r in await rows.order_by("created_at")]


async def active_campaigns(store: Store) -> list[CampaignTerms]:
    """The store's switched-on campaigns, whatever their dates."""
    return [as_terms(r) for r in await Campaign.filter(store_id=store.id, active=True)]


async def list_rules(store: Store) -> list[EarningRule]:
    return await EarningRule.filter(store_id=store.id).order_by("created_at")


async def list_campaigns(store: Store) -> list[Campaign]:
    return await Campaign.filter(store_id=store.id).order_by("-starts_at")


@dataclass
class RuleFields:
    kind: RuleKind
    name: str
    points: int = 0
    points_per_unit: Decimal = Decimal(0)
    rounding: Rounding = Rounding.DOWN
    cap_points: int | None = None
    cap_period: CapPeriod | None = None
    active: bool = True


def _invalid(message: str, field: str) -> ProgramError:
    return ProgramError(ProgramErrorCode.INVALID, message, field=field)


def _check_rule(fields: RuleFields) -> None:
    if not 1 <= len(fields.name.strip()) <= 100:
        raise _invalid("Name must be 1 to 100 characters.", "name")
    if fields.kind is RuleKind.ORDER_SPEND:
        if not Decimal(0) < fields.points_per_unit <= Decimal(10_000):
            raise _invalid(
                "pointsPerUnit must be above 0 and at most 10000.", "pointsPerUnit"
            )
    else:
        if not 0 < fields.points <= 1_000_000:
            raise _invalid("Points must be 1 to 1000000.", "points")
        # Unused by fixed-points rules, but stored: keep it within its column.
        if not Decimal(0) <= fields.points_per_unit <= Decimal(10_000):
            raise _invalid("pointsPerUnit must be 0 to 10000.", "pointsPerUnit")
    if (fields.cap_points is None) != (fields.cap_period is None):
        raise _invalid("Give both capPoints and capPeriod, or neither.", "capPoints")
    if fields.cap_points is not None and not 0 < fields.cap_points <= 1_000_000_000:
        raise _invalid("capPoints must be 1 to 1000000000.", "capPoints")


async def save_rule(
    store: Store, fields: RuleFields, *, rule_id: UUID | None = None
) -> EarningRule:
    _check_rule(fields)
    if rule_id is None:
        if await EarningRule.filter(store_id=store.id).count() >= MAX_RULES:
            raise _invalid(f"At most {MAX_RULES} earning rules.", "kind")
        row = EarningRule(store_id=store.id)
    else:
        found = await EarningRule.get_or_none(store_id=store.id, id=rule_id)
        if found is None:
            raise ProgramError(
                ProgramErrorCode.NOT_FOUND, "No such earning rule.", field="id"
            )
        row = found
    row.kind = fields.kind
    row.name = fields.name.strip()
    row.points = fields.points
    row.points_per_unit = fields.points_per_unit
    row.rounding = fields.rounding
    row.cap_points = fields.cap_points
    row.cap_period = fields.cap_period  # type: ignore[assignment]
    row.active = fields.active
    await row.save()
    return row


@dataclass
class CampaignFields:
    name: str
    starts_at: datetime
    ends_at: datetime
    multiplier: Decimal = Decimal(1)
    bonus_points: int = 0
    tier_ids: tuple[UUID, ...] = ()
    kinds: tuple[RuleKind, ...] = (RuleKind.ORDER_SPEND,)
    active: bool = True


async def save_campaign(
    store: Store, fields: CampaignFields, *, campaign_id: UUID | None = None
) -> Campaign:
    if not 1 <= len(fields.name.strip()) <= 100:
        raise _invalid("Name must be 1 to 100 characters.", "name")
    if fields.ends_at <= fields.starts_at:
        raise _invalid("endsAt must be after startsAt.", "endsAt")
    if not Decimal(1) <= fields.multiplier <= Decimal(10):
        raise _invalid("Multiplier must be between 1 and 10.", "multiplier")
    if not 0 <= fields.bonus_points <= 1_000_000:
        raise _invalid("bonusPoints must be 0 to 1000000.", "bonusPoints")
    if fields.multiplier == 1 and fields.bonus_points == 0:
        raise _invalid(
            "A campaign needs a multiplier above 1 or a bonus.", "multiplier"
        )
    if not fields.kinds:
        raise _invalid("Name at least one rule kind.", "kinds")
    if campaign_id is None:
        row = Campaign(store_id=store.id)
    else:
        found = await Campaign.get_or_none(store_id=store.id, id=campaign_id)
        if found is None:
            raise ProgramError(
                ProgramErrorCode.NOT_FOUND, "No such campaign.", field="id"
            )
        row = found
    row.name = fields.name.strip()
    row.starts_at = fields.starts_at
    row.ends_at = fields.ends_at
    row.multiplier = fields.multiplier
    row.bonus_points = fields.bonus_points
    row.tier_ids = [str(t) for t in fields.tier_ids]
    row.kinds = [k.value for k in fields.kinds]
    row.active = fields.active
    await row.save()
    return row
