"""Money is written one way per language: 元 in Chinese, ¥ in English."""

from __future__ import annotations

from decimal import Decimal

import pytest

from handlers.i18n import money


@pytest.mark.parametrize(
    ("lang", "amount", "currency", "shown"),
    [("zh", Decimal("10"), "CNY", "10 元"), ("en", Decimal("10"), "CNY", "¥10"),
     ("en", Decimal("12.5"), "CNY", "¥12.50"), ("zh", 1234.5, "cny", "1234.50 元"),
     ("en", Decimal("3"), "EUR", "3 EUR")],
)
def test_amounts_are_written_the_languages_way(
    lang: str, amount: Decimal | float, currency: str, shown: str
) -> None:
    assert money(lang, amount, currency) == shown
