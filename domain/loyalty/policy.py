"""The points and tiers sections of retailbot.toml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from domain.shared.errors import PolicyError
from domain.shared.policy_values import (
    array_of_tables,
    decimal_number,
    key_of,
    non_negative_decimal,
    section,
    whole_number,
)
from domain.shared.text import in_language

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
        return in_language(lang, self.name_en, self.name_zh)


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


@dataclass(frozen=True)
class LoyaltyPolicy:
    """What [points] and [[tiers]] say; the Policy keeps them as `points` and `tiers`."""

    points: PointsPolicy = field(default_factory=PointsPolicy)
    tiers: tuple[Tier, ...] = DEFAULT_TIERS


def loyalty_policy_from_mapping(data: Mapping[str, Any]) -> LoyaltyPolicy:
    """Read [points] and [[tiers]] from the whole policy file (both sit at its top)."""
    return LoyaltyPolicy(points=_points(section(data, "points")), tiers=_tiers(data))


def _points(spec: Mapping[str, Any]) -> PointsPolicy:
    rounding = str(spec.get("rounding", "floor"))
    if rounding not in ROUNDING_MODES:
        raise PolicyError(f"points.rounding must be one of floor, round, ceil, not {rounding!r}")
    # A word where a number belongs must be a PolicyError naming the key, not a traceback;
    # a negative rate would make a purchase cost points.
    return PointsPolicy(
        per_currency_unit=non_negative_decimal(
            spec.get("per_currency_unit", 1), "points.per_currency_unit"
        ),
        rounding=rounding,
        expiry_months=whole_number(spec.get("expiry_months", 12), "points.expiry_months", 1),
        expiring_soon_days=whole_number(
            spec.get("expiring_soon_days", 30), "points.expiring_soon_days", 0
        ),
    )


def _tiers(data: Mapping[str, Any]) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    for i, spec in enumerate(array_of_tables(data.get("tiers", []), "tiers")):
        where = f"tiers[{i}]"
        key = key_of(spec, where)
        name_en = str(spec.get("name_en", key))
        tiers.append(
            Tier(
                key=key,
                threshold=decimal_number(spec.get("threshold", 0), f"{where}.threshold"),
                multiplier=non_negative_decimal(
                    spec.get("multiplier", 1), f"{where}.multiplier"
                ),
                name_en=name_en,
                name_zh=str(spec.get("name_zh", name_en)),
            )
        )
    if not tiers:
        return DEFAULT_TIERS
    if tiers[0].threshold != 0:
        raise PolicyError("the first tier must have threshold 0 so every member has a tier")
    if any(a.threshold >= b.threshold for a, b in zip(tiers, tiers[1:], strict=False)):
        raise PolicyError("tiers must be listed with strictly rising thresholds")
    return tuple(tiers)
