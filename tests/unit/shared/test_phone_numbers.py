"""Phone numbers are the key that links a Telegram account to a member, so they are E.164."""

from __future__ import annotations

import pytest

from domain.shared.errors import InvalidPhone
from domain.shared.phones import mask_phone, normalize_phone


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",  # as a member types it in China
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "8613812345678",  # as Telegram shares a contact: no plus sign
        "008613812345678",  # international dialling prefix from China
    ],
)
def test_the_same_mobile_typed_any_way_is_one_e164_number(typed: str) -> None:
    assert normalize_phone(typed, "CN") == "+8613812345678"


def test_a_plus_less_foreign_number_from_telegram_keeps_its_country() -> None:
    assert normalize_phone("447911123456", "CN") == "+447911123456"


def test_the_default_region_decides_numbers_without_a_country_code() -> None:
    assert normalize_phone("07911 123456", "GB") == "+447911123456"


@pytest.mark.parametrize("typed", ["", "   ", "12345", "not a phone", "+86 123"])
def test_something_that_is_not_a_phone_number_is_refused(typed: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(typed, "CN")


def test_staff_see_only_the_last_four_digits() -> None:
    assert mask_phone("+8613812345678") == "**********5678"
    assert mask_phone("123") == "***"
