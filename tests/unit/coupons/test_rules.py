"""Coupon rules without a database: codes, templates in the policy file, validity, birthdays."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from domain.coupons.rules import (
    ALPHABET,
    CODE_LENGTH,
    birthday_mds,
    coupon_from_template,
    due_days,
    format_code,
    new_code,
    normalise_code,
)
from domain.shared.errors import PolicyError
from domain.shared.policy import Policy, policy_from_mapping
from tests.support.paths import POLICY_TEMPLATE

TEMPLATE_FILE = POLICY_TEMPLATE


def test_codes_are_unambiguous_and_carry_a_check_character() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert not set(code) & set("0O1I")
        assert normalise_code(code) == code


def test_a_code_is_read_back_however_it_was_typed() -> None:
    code = new_code()
    assert normalise_code(format_code(code).lower()) == code
    assert normalise_code(f"  {code[:4]} {code[4:]} ") == code
    assert format_code(code) == f"{code[:4]}-{code[4:]}"


def test_every_single_character_typo_is_caught() -> None:
    code = new_code()
    for position in range(CODE_LENGTH):
        for char in ALPHABET:
            if char == code[position]:
                continue
            typo = code[:position] + char + code[position + 1 :]
            assert normalise_code(typo) is None, typo


def test_codes_with_look_alike_or_foreign_characters_are_refused() -> None:
    assert normalise_code("O0I1ABCD") is None
    assert normalise_code("ABC") is None
    assert normalise_code("") is None


def test_the_demo_policy_has_a_birthday_coupon_and_an_exchange_catalogue() -> None:
    policy = Policy()
    birthday = policy.coupon_template(policy.birthday.template)
    assert birthday.kind == "amount" and birthday.value > 0
    assert policy.exchange and all(policy.coupon_template(r.template) for r in policy.exchange)
    assert policy.delivery.rate_per_second < 30  # below Telegram's limit
    assert policy.delivery.quiet_start == time(21, 0) and policy.delivery.quiet_end == time(9, 0)


def test_the_commented_policy_file_parses_to_the_defaults() -> None:
    data = tomllib.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    policy = policy_from_mapping(data)
    defaults = Policy()
    assert policy.coupon_templates == defaults.coupon_templates
    assert policy.exchange == defaults.exchange
    assert policy.birthday == defaults.birthday
    assert policy.delivery == defaults.delivery


def test_templates_and_catalogue_come_from_the_policy_file() -> None:
    policy = policy_from_mapping(
        {
            "coupons": {
                "templates": {
                    "bday": {
                        "kind": "percent",
                        "value": 15,
                        "min_spend": 80,
                        "valid_days": 14,
                        "stores": ["sh01"],
                        "name_en": "15% off",
                        "name_zh": "85 折",
                    },
                    "cake": {"kind": "gift", "name_en": "A cake"},
                },
                "exchange": [{"key": "cake", "points": 800, "template": "cake"}],
            },
            "birthday": {"template": "bday", "send_at": "08:30", "catch_up_days": 5},
            "delivery": {
                "rate_per_second": 20,
                "quiet_hours": "22:00-08:00",
                "marketing_per_7_days": 1,
            },
        }
    )
    bday = policy.coupon_template("bday")
    assert bday.value == Decimal("15") and bday.stores == ("SH01",) and bday.valid_days == 14
    assert policy.coupon_template("cake").name("zh") == "A cake"  # falls back to English
    assert [(r.key, r.points) for r in policy.exchange] == [("cake", 800)]
    assert policy.birthday.send_at == time(8, 30) and policy.birthday.catch_up_days == 5
    assert policy.delivery.rate_per_second == 20
    assert policy.delivery.quiet_start == time(22, 0)
    assert policy.delivery.marketing_per_7_days == 1


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        ({"coupons": {"templates": {"x": {"kind": "cash"}}}}, "coupons.templates.x.kind"),
        ({"coupons": {"templates": {"x": {"kind": "percent", "value": 150}}}}, "percentage"),
        ({"coupons": {"templates": {"x": {"kind": "amount", "value": 0}}}}, "amount above 0"),
        ({"coupons": {"exchange": [{"points": 10, "template": "nope"}]}}, "nope"),
        ({"coupons": {"exchange": [{"template": "ten_off"}]}}, "points"),
        ({"birthday": {"template": "nope"}}, "birthday.template"),
        ({"birthday": {"send_at": "9 o'clock"}}, "birthday.send_at"),
        ({"delivery": {"quiet_hours": "late"}}, "delivery.quiet_hours"),
        ({"delivery": {"rate_per_second": 0}}, "delivery.rate_per_second"),
    ],
)
def test_a_wrong_policy_names_the_key(data: dict[str, object], mentions: str) -> None:
    with pytest.raises(PolicyError, match=mentions.replace(".", r"\.")):
        policy_from_mapping(data)


def test_quiet_hours_can_be_switched_off() -> None:
    policy = policy_from_mapping({"delivery": {"quiet_hours": ""}})
    assert policy.delivery.quiet_start is None and policy.delivery.quiet_end is None


def test_a_coupon_is_valid_until_the_end_of_its_last_local_day() -> None:
    template = Policy().coupon_template("ten_off")  # 60 days
    # 23:30 on 1 March in Shanghai is still 1 March there, though already... 15:30 UTC.
    issued = datetime(2027, 3, 1, 15, 30, tzinfo=UTC)
    coupon = coupon_from_template(template, 1, "campaign:1", new_code(), issued, "Asia/Shanghai")
    assert coupon.last_valid_day("Asia/Shanghai") == date(2027, 4, 30)
    assert coupon.usable(datetime(2027, 4, 30, 15, 59, tzinfo=UTC))  # 23:59 local
    assert not coupon.usable(datetime(2027, 4, 30, 16, 0, tzinfo=UTC))  # midnight local


@pytest.mark.parametrize(
    ("day", "celebrated"),
    [
        (date(2027, 2, 28), (228, 229)),  # not a leap year: 29 February's birthdays too
        (date(2028, 2, 28), (228,)),
        (date(2028, 2, 29), (229,)),
        (date(2027, 3, 1), (301,)),
        (date(2027, 12, 31), (1231,)),
    ],
)
def test_birthdays_celebrated_on_a_day(day: date, celebrated: tuple[int, ...]) -> None:
    assert birthday_mds(day) == celebrated


def test_due_days_follow_the_zone_and_the_send_time_with_catch_up() -> None:
    policy = Policy()  # send at 09:00, catch up 3 days
    # 01:30 UTC on 15 June: 09:30 in Shanghai (due), 21:30 on 14 June in New York.
    now = datetime(2026, 6, 15, 1, 30, tzinfo=UTC)
    assert due_days(now, "Asia/Shanghai", policy) == [
        date(2026, 6, 12),
        date(2026, 6, 13),
        date(2026, 6, 14),
        date(2026, 6, 15),
    ]
    assert due_days(now, "America/New_York", policy)[-1] == date(2026, 6, 14)
    # 00:30 UTC: 08:30 in Shanghai, before the send time: today is not due yet.
    early = datetime(2026, 6, 15, 0, 30, tzinfo=UTC)
    assert due_days(early, "Asia/Shanghai", policy)[-1] == date(2026, 6, 14)
