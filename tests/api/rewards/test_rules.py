"""Rewards: codes, catalogue terms, and whether a customer may redeem now."""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.rewards import rules
from api.rewards.errors import RewardError, RewardErrorCode
from api.rewards.models import RewardKind
from api.rewards.rules import RewardTerms

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GROUP = f"[{ALPHABET}]{{4}}"
MAY = datetime(2026, 5, 1, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, tzinfo=UTC)
AT = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def _terms(kind: RewardKind = RewardKind.FIXED_AMOUNT, **changes: Any) -> RewardTerms:
    base = RewardTerms(
        kind=kind,
        cost_points=500,
        active=True,
        starts_at=None,
        ends_at=None,
        stock=None,
        per_customer_limit=None,
        min_tier_rank=None,
    )
    by_kind: dict[RewardKind, dict[str, Any]] = {
        RewardKind.FIXED_AMOUNT: {"value_minor": 500},
        RewardKind.STORE_CREDIT: {"value_minor": 1000},
        RewardKind.PERCENTAGE: {"percent": 10},
        RewardKind.FREE_PRODUCT: {"product_ref": "gid://shopify/Product/1"},
    }
    return replace(base, **{**by_kind.get(kind, {}), **changes})


# --- codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "prefix"), [("default prefix", None), ("custom prefix", "GIFT")]
)
def test_new_code_format(_case: str, prefix: str | None) -> None:
    code = rules.new_code() if prefix is None else rules.new_code(prefix)
    expected_prefix = prefix or "LDR"
    assert re.fullmatch(rf"{expected_prefix}-{GROUP}-{GROUP}-{GROUP}-{GROUP}", code)
    assert len(code) == len(expected_prefix) + 4 * 5


def test_new_codes_are_unique_and_unambiguous() -> None:
    codes = {rules.new_code() for _ in range(10_000)}
    assert len(codes) == 10_000
    used = set("".join(code.removeprefix("LDR-").replace("-", "") for code in codes))
    assert used == set(ALPHABET)  # every symbol drawn, and nothing else
    assert not used & set("01OIL")


@pytest.mark.parametrize(
    ("_case", "given", "expected"),
    [
        ("already clean", "LDR-ABCD-EFGH-JKMN-PQRS", "LDR-ABCD-EFGH-JKMN-PQRS"),
        ("lower case", "ldr-abcd-efgh-jkmn-pqrs", "LDR-ABCD-EFGH-JKMN-PQRS"),
        (
            "surrounding spaces",
            "  LDR-ABCD-EFGH-JKMN-PQRS\n",
            "LDR-ABCD-EFGH-JKMN-PQRS",
        ),
        ("mixed", " Ldr-aBcD-2345-6789-wxyz ", "LDR-ABCD-2345-6789-WXYZ"),
    ],
)
def test_normalize_code(_case: str, given: str, expected: str) -> None:
    assert rules.normalize_code(given) == expected


# --- terms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "terms"),
    [
        ("fixed amount", _terms(RewardKind.FIXED_AMOUNT)),
        ("percentage", _terms(RewardKind.PERCENTAGE)),
        ("free shipping needs no value", _terms(RewardKind.FREE_SHIPPING)),
        ("free product", _terms(RewardKind.FREE_PRODUCT)),
        ("store credit", _terms(RewardKind.STORE_CREDIT)),
        ("custom gift", _terms(RewardKind.CUSTOM)),
        ("cheapest", _terms(cost_points=1)),
        ("dearest", _terms(cost_points=10_000_000)),
        ("sold out is allowed", _terms(stock=0)),
        ("once per customer", _terms(per_customer_limit=1)),
        ("one percent", _terms(RewardKind.PERCENTAGE, percent=1)),
        ("a hundred percent", _terms(RewardKind.PERCENTAGE, percent=100)),
        ("start only", _terms(starts_at=MAY)),
        ("end only", _terms(ends_at=JUNE)),
        ("window", _terms(starts_at=MAY, ends_at=JUNE)),
    ],
)
def test_check_terms_accepts(_case: str, terms: RewardTerms) -> None:
    rules.check_terms(terms)


@pytest.mark.parametrize(
    ("_case", "terms", "field"),
    [
        ("free", _terms(cost_points=0), "costPoints"),
        ("negative cost", _terms(cost_points=-10), "costPoints"),
        ("too dear", _terms(cost_points=10_000_001), "costPoints"),
        ("negative stock", _terms(stock=-1), "stock"),
        ("zero per customer", _terms(per_customer_limit=0), "perCustomerLimit"),
        ("empty window", _terms(starts_at=MAY, ends_at=MAY), "endsAt"),
        ("window backwards", _terms(starts_at=JUNE, ends_at=MAY), "endsAt"),
        ("fixed amount without value", _terms(value_minor=None), "valueMinor"),
        ("fixed amount of zero", _terms(value_minor=0), "valueMinor"),
        (
            "negative store credit",
            _terms(RewardKind.STORE_CREDIT, value_minor=-5),
            "valueMinor",
        ),
        (
            "store credit without value",
            _terms(RewardKind.STORE_CREDIT, value_minor=None),
            "valueMinor",
        ),
        ("percent missing", _terms(RewardKind.PERCENTAGE, percent=None), "percent"),
        ("zero percent", _terms(RewardKind.PERCENTAGE, percent=0), "percent"),
        (
            "over a hundred percent",
            _terms(RewardKind.PERCENTAGE, percent=101),
            "percent",
        ),
        (
            "free product without product",
            _terms(RewardKind.FREE_PRODUCT, product_ref=None),
            "productRef",
        ),
        (
            "free product with empty ref",
            _terms(RewardKind.FREE_PRODUCT, product_ref=""),
            "productRef",
        ),
    ],
)
def test_check_terms_rejects(_case: str, terms: RewardTerms, field: str) -> None:
    with pytest.raises(RewardError) as raised:
        rules.check_terms(terms)
    assert raised.value.code is RewardErrorCode.INVALID
    assert raised.value.field == field


# --- redeeming -----------------------------------------------------------------------

LIMITED = _terms(
    starts_at=MAY, ends_at=JUNE, stock=5, per_customer_limit=2, min_tier_rank=1
)


@pytest.mark.parametrize(
    ("_case", "terms", "now", "tier_rank", "redeemed"),
    [
        ("within every limit", LIMITED, AT, 1, 0),
        ("at the start", LIMITED, MAY, 1, 0),
        ("last instant", LIMITED, JUNE - TICK, 1, 0),
        ("a higher tier", LIMITED, AT, 3, 0),
        ("one left for this customer", LIMITED, AT, 1, 1),
        ("last one in stock", replace(LIMITED, stock=1), AT, 1, 0),
        ("no limits at all", _terms(), AT, None, 100),
    ],
)
def test_check_redeemable_allows(
    _case: str, terms: RewardTerms, now: datetime, tier_rank: int | None, redeemed: int
) -> None:
    rules.check_redeemable(
        terms, now=now, tier_rank=tier_rank, redeemed_by_customer=redeemed
    )


@pytest.mark.parametrize(
    ("_case", "terms", "now", "tier_rank", "redeemed", "code"),
    [
        (
            "switched off",
            replace(LIMITED, active=False),
            AT,
            1,
            0,
            RewardErrorCode.INACTIVE,
        ),
        ("before start", LIMITED, MAY - TICK, 1, 0, RewardErrorCode.INACTIVE),
        ("at the end", LIMITED, JUNE, 1, 0, RewardErrorCode.INACTIVE),
        (
            "after the end",
            LIMITED,
            JUNE + timedelta(days=3),
            1,
            0,
            RewardErrorCode.INACTIVE,
        ),
        ("no tier", LIMITED, AT, None, 0, RewardErrorCode.TIER_REQUIRED),
        ("lower tier", LIMITED, AT, 0, 0, RewardErrorCode.TIER_REQUIRED),
        ("limit reached", LIMITED, AT, 1, 2, RewardErrorCode.LIMIT_REACHED),
        ("limit passed", LIMITED, AT, 1, 7, RewardErrorCode.LIMIT_REACHED),
        (
            "out of stock",
            replace(LIMITED, stock=0),
            AT,
            1,
            0,
            RewardErrorCode.OUT_OF_STOCK,
        ),
        (
            "inactive is told before stock",
            replace(LIMITED, active=False, stock=0),
            AT,
            1,
            0,
            RewardErrorCode.INACTIVE,
        ),
        (
            "tier is told before the limit",
            LIMITED,
            AT,
            None,
            2,
            RewardErrorCode.TIER_REQUIRED,
        ),
        (
            "limit is told before stock",
            replace(LIMITED, stock=0),
            AT,
            1,
            2,
            RewardErrorCode.LIMIT_REACHED,
        ),
    ],
)
def test_check_redeemable_refuses(
    _case: str,
    terms: RewardTerms,
    now: datetime,
    tier_rank: int | None,
    redeemed: int,
    code: RewardErrorCode,
) -> None:
    with pytest.raises(RewardError) as raised:
        rules.check_redeemable(
            terms, now=now, tier_rank=tier_rank, redeemed_by_customer=redeemed
        )
    assert raised.value.code is code
    assert raised.value.field == "rewardId"


@pytest.mark.parametrize(
    ("code", "ours"),
    [
        ("SAVE10", False),
        ("LDR-SUMMER", False),
        ("LDR-2345-6789-ABCD-EFG", False),  # a group short
        ("LDR-2345-6789-ABCD-EFGH-JKMN", False),  # a group too many
        ("LDR-2345-6789-ABCD-EFG0", False),  # 0 is not in the alphabet
        ("LDR-2345-6789-ABCD-EFGH", True),
    ],
)
def test_only_codes_of_the_issued_shape_may_be_ladders(code: str, ours: bool) -> None:
    assert rules.may_be_issued(code) is ours


def test_every_new_code_may_be_issued_and_survives_normalizing() -> None:
    for _ in range(200):
        code = rules.new_code()
        assert rules.may_be_issued(rules.normalize_code(f" {code.lower()} "))
