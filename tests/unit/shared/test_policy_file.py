"""The shop's rules file: safe defaults, and every mistake named by its key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.shared.errors import PolicyError
from domain.shared.policy import Policy, policy_from_mapping


def test_an_empty_policy_file_runs_the_demo_rules() -> None:
    policy = policy_from_mapping({})
    assert policy.timezone == "Asia/Shanghai"
    assert policy.default_region == "CN"
    assert [t.key for t in policy.tiers] == ["member", "silver", "gold"]
    assert policy.points.expiry_months == 12
    assert policy.points_for(Decimal("99.99"), Decimal("1")) == 99  # floor by default


def test_tiers_from_the_file_replace_the_default_ones() -> None:
    policy = policy_from_mapping(
        {
            "tiers": [
                {"key": "basic", "threshold": 0, "multiplier": 1},
                {"key": "vip", "threshold": 5000, "multiplier": "2", "name_zh": "贵宾"},
            ]
        }
    )
    assert [t.key for t in policy.tiers] == ["basic", "vip"]
    assert policy.tier_for_spend(Decimal("4999.99")).key == "basic"
    assert policy.tier_for_spend(Decimal("5000")).key == "vip"
    assert policy.tier("vip").name("zh") == "贵宾"
    assert policy.next_tier("vip") is None


@pytest.mark.parametrize(
    ("rounding", "points"), [("floor", 10), ("round", 11), ("ceil", 11)]
)
def test_points_round_as_the_shop_chose(rounding: str, points: int) -> None:
    policy = policy_from_mapping({"points": {"rounding": rounding}})
    assert policy.points_for(Decimal("10.50"), Decimal("1")) == points


def test_a_refund_amount_never_earns_negative_points() -> None:
    assert Policy().points_for(Decimal("-50"), Decimal("1.5")) == 0


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"points": {"rounding": "up"}}, "points.rounding"),
        ({"points": {"expiry_months": 0}}, "points.expiry_months"),
        ({"points": {"expiry_months": "twelve"}}, "points.expiry_months"),
        ({"points": {"per_currency_unit": "lots"}}, "points.per_currency_unit"),
        ({"points": {"per_currency_unit": -1}}, "points.per_currency_unit"),
        ({"points": "generous"}, "points"),
        ({"tiers": [{"threshold": 0}]}, "tiers[0] needs a key"),
        ({"tiers": [{"key": "a", "threshold": 10}]}, "threshold 0"),
        ({"tiers": [{"key": "a"}, {"key": "b", "multiplier": -2}]}, "tiers[1].multiplier"),
        (
            {"tiers": [{"key": "a"}, {"key": "b", "threshold": 5}, {"key": "c", "threshold": 5}]},
            "strictly rising",
        ),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"max_text_length": "long"}, "max_text_length"),
    ],
)
def test_a_wrong_policy_file_is_refused_naming_the_key(data: dict, named: str) -> None:
    with pytest.raises(PolicyError) as refused:
        policy_from_mapping(data)
    assert named in str(refused.value)


def test_regression_a_word_where_a_number_belongs_is_a_policy_error_not_a_crash() -> None:
    # int("twelve") used to escape as a bare ValueError, which the CLI showed as a traceback.
    with pytest.raises(PolicyError):
        policy_from_mapping({"points": {"expiring_soon_days": "soon"}})
