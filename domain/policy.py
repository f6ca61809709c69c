"""The store's rules as read from retailbot.toml: points, tiers, expiry, FAQ. Safe defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import PolicyError

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


@dataclass(frozen=True)
class FaqEntry:
    """A canned answer with the questions it answers, in both languages."""

    key: str
    questions: tuple[str, ...]
    answer_en: str
    answer_zh: str

    def answer(self, lang: str) -> str:
        return self.answer_zh if lang == "zh" else self.answer_en


@dataclass(frozen=True)
class Policy:
    """Everything the shop decides; every field has a safe default so an empty file works."""

    chain_name: str = "Retailbot Demo Mart"
    timezone: str = "Asia/Shanghai"
    default_region: str = "CN"
    currency: str = "CNY"
    points: PointsPolicy = field(default_factory=PointsPolicy)
    tiers: tuple[Tier, ...] = ()
    faq: tuple[FaqEntry, ...] = ()
    faq_min_score: float = 80.0
    max_text_length: int = 1000

    def __post_init__(self) -> None:
        if not self.tiers:
            object.__setattr__(self, "tiers", DEFAULT_TIERS)
        if not self.faq:
            object.__setattr__(self, "faq", DEFAULT_FAQ)

    def tier_for_spend(self, spend: Decimal) -> Tier:
        """The highest tier whose threshold the spend reaches."""
        reached = [t for t in self.tiers if spend >= t.threshold]
        return reached[-1] if reached else self.tiers[0]

    def tier(self, key: str) -> Tier:
        for tier in self.tiers:
            if tier.key == key:
                return tier
        return self.tiers[0]

    def next_tier(self, key: str) -> Tier | None:
        keys = [t.key for t in self.tiers]
        index = keys.index(key) if key in keys else 0
        return self.tiers[index + 1] if index + 1 < len(self.tiers) else None

    def points_for(self, amount: Decimal, multiplier: Decimal) -> int:
        """Points earned on a receipt amount under the rounding rule; never negative."""
        if amount <= 0:
            return 0
        raw = amount * self.points.per_currency_unit * multiplier
        return int(raw.quantize(Decimal(1), rounding=ROUNDING_MODES[self.points.rounding]))


DEFAULT_TIERS = (
    Tier("member", Decimal("0"), Decimal("1"), "Member", "普通会员"),
    Tier("silver", Decimal("2000"), Decimal("1.25"), "Silver", "银卡会员"),
    Tier("gold", Decimal("8000"), Decimal("1.5"), "Gold", "金卡会员"),
)

DEFAULT_FAQ = (
    FaqEntry(
        "hours",
        (
            "store hours",
            "opening hours",
            "when are you open",
            "what time do you close",
            "营业时间",
            "几点开门",
            "几点关门",
        ),
        "Our stores are open every day from 8:00 to 22:00.",
        "我们的门店每天 8:00 至 22:00 营业。",
    ),
    FaqEntry(
        "returns",
        ("returns", "return policy", "refund", "can i return", "退货", "退款", "怎么退货"),
        "Unopened goods can be returned within 7 days with the receipt; fresh food within 24 "
        "hours. Points earned on the purchase are taken back.",
        "未拆封商品凭小票 7 天内可退，生鲜 24 小时内可退。该笔消费所得积分将被扣回。",
    ),
    FaqEntry(
        "how_points",
        (
            "how do points work",
            "how to earn points",
            "earn points",
            "积分怎么算",
            "积分规则",
            "怎么赚积分",
        ),
        "You earn points on every purchase when you show your member number or phone at the "
        "till. Higher tiers earn more, and points expire 12 months after they were earned.",
        "结账时出示会员号或手机号，每笔消费都可获得积分。"
        "等级越高积分越多，积分在获得 12 个月后过期。",
    ),
)


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same mistake
        raise PolicyError(f"{where} must be a number, not {value!r}") from exc


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """Build a Policy from parsed TOML; raise PolicyError naming the key that is wrong."""
    points_raw = dict(data.get("points", {}))
    rounding = str(points_raw.get("rounding", "floor"))
    if rounding not in ROUNDING_MODES:
        raise PolicyError(f"points.rounding must be one of floor, round, ceil, not {rounding!r}")
    expiry = int(points_raw.get("expiry_months", 12))
    if expiry < 1:
        raise PolicyError("points.expiry_months must be at least 1")
    points = PointsPolicy(
        per_currency_unit=_decimal(
            points_raw.get("per_currency_unit", 1), "points.per_currency_unit"
        ),
        rounding=rounding,
        expiry_months=expiry,
        expiring_soon_days=int(points_raw.get("expiring_soon_days", 30)),
    )
    tiers: list[Tier] = []
    for i, raw in enumerate(data.get("tiers", [])):
        where = f"tiers[{i}]"
        if "key" not in raw:
            raise PolicyError(f"{where} needs a key")
        tiers.append(
            Tier(
                key=str(raw["key"]),
                threshold=_decimal(raw.get("threshold", 0), f"{where}.threshold"),
                multiplier=_decimal(raw.get("multiplier", 1), f"{where}.multiplier"),
                name_en=str(raw.get("name_en", raw["key"])),
                name_zh=str(raw.get("name_zh", raw.get("name_en", raw["key"]))),
            )
        )
    if tiers:
        if tiers[0].threshold != 0:
            raise PolicyError("the first tier must have threshold 0 so every member has a tier")
        if any(a.threshold >= b.threshold for a, b in zip(tiers, tiers[1:], strict=False)):
            raise PolicyError("tiers must be listed with strictly rising thresholds")
    faq = tuple(
        FaqEntry(
            key=str(raw.get("key", f"faq{i}")),
            questions=tuple(str(q) for q in raw.get("questions", [])),
            answer_en=str(raw.get("answer_en", "")),
            answer_zh=str(raw.get("answer_zh", raw.get("answer_en", ""))),
        )
        for i, raw in enumerate(data.get("faq", []))
    )
    tz = str(data.get("timezone", "Asia/Shanghai"))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"timezone {tz!r} is not a known IANA time zone") from exc
    return Policy(
        chain_name=str(data.get("chain_name", Policy.chain_name)),
        timezone=tz,
        default_region=str(data.get("default_region", "CN")),
        currency=str(data.get("currency", "CNY")),
        points=points,
        tiers=tuple(tiers),
        faq=faq or DEFAULT_FAQ,
        faq_min_score=float(data.get("faq_min_score", 80.0)),
        max_text_length=int(data.get("max_text_length", 1000)),
    )
