"""Rewards: codes, and whether a customer may redeem one now (pure)."""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from api.rewards.errors import RewardError, RewardErrorCode
from api.rewards.models import RewardKind

# Crockford-style alphabet: no 0/O or 1/I/L confusion when read aloud.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16  # 31^16 ~ 2^79: not guessable, even by brute force with limits


def new_code(prefix: str = "LDR") -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{prefix}-{body[:4]}-{body[4:8]}-{body[8:12]}-{body[12:]}"


def normalize_code(code: str) -> str:
    return code.strip().upper()


_CODE_SHAPE = re.compile(rf"[A-Z0-9]+(?:-[{_ALPHABET}]{{4}}){{{CODE_LENGTH // 4}}}")


def may_be_issued(code: str) -> bool:
    """Whether a (normalized) code has the shape `new_code` gives: the others
    seen on orders (the merchant's own discounts) need no lookup."""
    return _CODE_SHAPE.fullmatch(code) is not None


@dataclass(frozen=True)
class RewardTerms:
    kind: RewardKind
    cost_points: int
    active: bool
    starts_at: datetime | None
    ends_at: datetime | None
    stock: int | None
    per_customer_limit: int | None
    min_tier_rank: int | None
    value_minor: int | None = None
    percent: int | None = None
    product_ref: str | None = None


def check_terms(terms: RewardTerms) -> None:
    """A catalogue entry must make sense for its kind."""
    problems: list[tuple[bool, str, str]] = [
        (
            1 <= terms.cost_points <= 10_000_000,
            "costPoints",
            "costPoints must be 1 to 10000000.",
        ),
        (terms.stock is None or terms.stock >= 0, "stock", "Stock cannot be negative."),
        (
            terms.per_customer_limit is None or terms.per_customer_limit >= 1,
            "perCustomerLimit",
            "perCustomerLimit must be at least 1.",
        ),
        (
            terms.starts_at is None
            or terms.ends_at is None
            or terms.starts_at < terms.ends_at,
            "endsAt",
            "endsAt must be after startsAt.",
        ),
    ]
    if terms.kind in (RewardKind.FIXED_AMOUNT, RewardKind.STORE_CREDIT):
        problems.append(
            (
                terms.value_minor is not None and terms.value_minor > 0,
                "valueMinor",
                "This kind needs a positive valueMinor.",
            )
        )
    if terms.kind is RewardKind.PERCENTAGE:
        problems.append(
            (
                terms.percent is not None and 1 <= terms.percent <= 100,
                "percent",
                "percent must be 1 to 100.",
            )
        )
    if terms.kind is RewardKind.FREE_PRODUCT:
        problems.append(
            (bool(terms.product_ref), "productRef", "A free product needs productRef.")
        )
    for ok, field, message in problems:
        if not ok:
            raise RewardError(RewardErrorCode.INVALID, message, field=field)


def check_redeemable(
    terms: RewardTerms,
    *,
    now: datetime,
    tier_rank: int | None,
    redeemed_by_customer: int,
) -> None:
    """Why this customer may not redeem this reward now, as a typed error."""
    if (
        not terms.active
        or (terms.starts_at and now < terms.starts_at)
        or (terms.ends_at and now >= terms.ends_at)
    ):
        raise RewardError(
            RewardErrorCode.INACTIVE,
            "This reward is not available now.",
            field="rewardId",
        )
    if terms.min_tier_rank is not None and (
        tier_rank is None or tier_rank < terms.min_tier_rank
    ):
        raise RewardError(
            RewardErrorCode.TIER_REQUIRED,
            "This reward needs a higher tier.",
            field="rewardId",
        )
    if (
        terms.per_customer_limit is not None
        and redeemed_by_customer >= terms.per_customer_limit
    ):
        raise RewardError(
            RewardErrorCode.LIMIT_REACHED,
            "This customer already redeemed this reward as often as allowed.",
            field="rewardId",
        )
    if terms.stock is not None and terms.stock <= 0:
        raise RewardError(
            RewardErrorCode.OUT_OF_STOCK,
            "This reward is out of stock.",
            field="rewardId",
        )
