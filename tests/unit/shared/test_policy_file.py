"""The shop's rules file: safe defaults, and every mistake named by its key."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from domain.coupons.policy import coupon_policy_from_mapping
from domain.loyalty.policy import LoyaltyPolicy, loyalty_policy_from_mapping
from domain.members.policy import faq_policy_from_mapping
from domain.messaging.policy import delivery_policy_from_mapping
from domain.shared.errors import PolicyError
from domain.shared.policy import Policy, policy_from_mapping
from domain.shared.policy_values import (
    decimal_number,
    is_short_key,
    key_of,
    non_negative_decimal,
    number,
    positive_number,
    section,
    whole_number,
)
from tests.support.paths import POLICY_TEMPLATE


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


def test_the_commented_policy_file_parses_to_every_default() -> None:
    data = tomllib.loads(POLICY_TEMPLATE.read_text(encoding="utf-8"))
    assert policy_from_mapping(data) == Policy()


def test_each_feature_parses_its_own_section() -> None:
    data = {
        "points": {"per_currency_unit": 2},
        "faq": [{"key": "parking", "questions": ["parking"], "answer_en": "Free for 2 hours."}],
        "faq_min_score": 90,
        "birthday": {"template": ""},
    }
    assert loyalty_policy_from_mapping(data).points.per_currency_unit == Decimal("2")
    assert loyalty_policy_from_mapping({}) == LoyaltyPolicy()
    faq = faq_policy_from_mapping(data)
    assert [e.key for e in faq.entries] == ["parking"] and faq.min_score == 90
    assert faq.entries[0].answer("zh") == "Free for 2 hours."  # falls back to English
    assert coupon_policy_from_mapping(data).birthday.template == ""
    assert delivery_policy_from_mapping({"max_attempts": 3}).max_attempts == 3
    policy = policy_from_mapping(data)
    assert policy.points.per_currency_unit == Decimal("2") and policy.faq == faq.entries
    assert policy.birthday.template == ""


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"tiers": {"key": "gold"}}, "tiers must be a list of [[tiers]] tables"),
        ({"tiers": ["gold"]}, "tiers[0] must be a table"),
        ({"faq": [{"key": "x"}, "hours?"]}, "faq[1] must be a table"),
        ({"faq_min_score": "high"}, "faq_min_score must be a number"),
        ({"tickets": {"reopen_days": "a week"}}, "tickets.reopen_days must be a whole number"),
        ({"tickets": {"reminder_share": "most"}}, "tickets.reminder_share must be a number"),
        ({"tickets": {"sla": "fast"}}, "tickets.sla must be a table"),
        ({"surveys": {"definitions": {"x": "?"}}}, "surveys.definitions.x must be a table"),
        ({"delivery": "fast"}, "delivery must be a table"),
    ],
)
def test_regression_a_wrong_shape_is_named_not_a_crash(data: dict, named: str) -> None:
    # A word or a list where a table or number belongs used to escape as ValueError,
    # AttributeError or a misleading "needs a key".
    with pytest.raises(PolicyError) as refused:
        policy_from_mapping(data)
    assert named in str(refused.value)


def test_the_value_readers_name_the_key_and_the_value() -> None:
    with pytest.raises(PolicyError, match=r"^a\.b must be a whole number, not 'x'$"):
        whole_number("x", "a.b")
    with pytest.raises(PolicyError, match=r"^a\.b must be at least 1, not 0$"):
        whole_number(0, "a.b", 1)
    with pytest.raises(PolicyError, match=r"^a\.b must be above 0, not 0\.0$"):
        positive_number(0, "a.b")
    with pytest.raises(PolicyError, match="a.b must be a number of 0 or more"):
        non_negative_decimal("-1", "a.b")
    with pytest.raises(PolicyError, match=r"^a\[2\] needs a key$"):
        key_of({}, "a[2]")
    assert section({}, "tickets") == {}
    assert decimal_number("1.25", "a") == Decimal("1.25") and number("0.5", "a") == 0.5
    assert is_short_key("fresh_food_2") and not is_short_key("Fresh") and not is_short_key("")
    assert not is_short_key("k" * 25)
