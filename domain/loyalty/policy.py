"""The points and tiers sections of retailbot.toml."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

ROUNDING_MODES = {"floor": ROUND_FLOOR, "round": ROUND_HALF_UP, "ceil": ROUND_CEILING}


@dataclass(frozen=True)
class Tier:
    """A membership level reached by rolling-12-month spend; its multiplier scales points."""

    key: str
    threshold: Decimal
    multiplier: Decimal
    name_en: str
    name_zh: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class PointsPolicy:
    """How receipts turn into points and how long points live."""

    per_currency_unit: Decimal = Decimal("1")
    rounding: str = "floor"
    expiry_months: int = 12
    expiring_soon_days: int = 30


DEFAULT_TIERS = (
    Tier("member", Decimal("0"), Decimal("1"), "Member", "普通会员"),
    Tier("silver", Decimal("2000"), Decimal("1.25"), "Silver", "银卡会员"),
    Tier("gold", Decimal("8000"), Decimal("1.5"), "Gold", "金卡会员"),
)
