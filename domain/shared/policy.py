"""The store's rules from retailbot.toml: points, tiers, coupons, delivery, tickets, surveys.
Safe defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.coupons.policy import (
    DEFAULT_COUPON_TEMPLATES,
    DEFAULT_EXCHANGE,
    BirthdayPolicy,
    CouponTemplate,
    ExchangeReward,
    _birthday,
    _coupon_templates,
    _exchange,
)
from domain.loyalty.policy import DEFAULT_TIERS, ROUNDING_MODES, PointsPolicy, Tier
from domain.messaging.policy import DeliveryPolicy, _delivery
from domain.shared.errors import PolicyError
from domain.shared.policy_values import _decimal, _int, _not_negative, _table
from domain.surveys.policy import SurveyPolicy, survey_policy_from_mapping
from domain.tickets.policy import TicketPolicy, ticket_policy_from_mapping


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
    coupon_templates: tuple[CouponTemplate, ...] = DEFAULT_COUPON_TEMPLATES
    exchange: tuple[ExchangeReward, ...] = DEFAULT_EXCHANGE
    birthday: BirthdayPolicy = field(default_factory=BirthdayPolicy)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    tickets: TicketPolicy = field(default_factory=TicketPolicy)
    surveys: SurveyPolicy = field(default_factory=SurveyPolicy)

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

    def coupon_template(self, key: str) -> CouponTemplate:
        for template in self.coupon_templates:
            if template.key == key:
                return template
        raise PolicyError(f"there is no coupon template {key!r} in the policy")

    def reward(self, key: str) -> ExchangeReward | None:
        return next((r for r in self.exchange if r.key == key), None)

    def points_for(self, amount: Decimal, multiplier: Decimal) -> int:
        """Points earned on a receipt amount under the rounding rule; never negative."""
        if amount <= 0:
            return 0
        raw = amount * self.points.per_currency_unit * multiplier
        return int(raw.quantize(Decimal(1), rounding=ROUNDING_MODES[self.points.rounding]))

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


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """Build a Policy from parsed TOML; raise PolicyError naming the key that is wrong."""
    points_raw = dict(_table(data.get("points", {}), "points"))
    rounding = str(points_raw.get("rounding", "floor"))
    if rounding not in ROUNDING_MODES:
        raise PolicyError(f"points.rounding must be one of floor, round, ceil, not {rounding!r}")
    # A word where a number belongs must be a PolicyError naming the key, not a traceback;
    # a negative rate or multiplier would make a purchase cost points.
    points = PointsPolicy(
        per_currency_unit=_not_negative(
            points_raw.get("per_currency_unit", 1), "points.per_currency_unit"
        ),
        rounding=rounding,
        expiry_months=_int(points_raw.get("expiry_months", 12), "points.expiry_months", 1),
        expiring_soon_days=_int(
            points_raw.get("expiring_soon_days", 30), "points.expiring_soon_days", 0
        ),
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
                multiplier=_not_negative(raw.get("multiplier", 1), f"{where}.multiplier"),
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
    templates = _coupon_templates(data.get("coupons", {}))
    tickets = ticket_policy_from_mapping(_table(data.get("tickets", {}), "tickets"))
    return Policy(
        chain_name=str(data.get("chain_name", Policy.chain_name)),
        timezone=tz,
        default_region=str(data.get("default_region", "CN")),
        currency=str(data.get("currency", "CNY")),
        points=points,
        tiers=tuple(tiers),
        faq=faq or DEFAULT_FAQ,
        faq_min_score=float(data.get("faq_min_score", 80.0)),
        max_text_length=_int(data.get("max_text_length", 1000), "max_text_length", 1),
        coupon_templates=templates,
        exchange=_exchange(data.get("coupons", {}), templates),
        birthday=_birthday(data.get("birthday", {}), templates),
        delivery=_delivery(data.get("delivery", {})),
        tickets=tickets,
        surveys=_surveys(data.get("surveys", {}), tickets),
    )


def _surveys(raw: Any, tickets: TicketPolicy) -> SurveyPolicy:
    surveys = survey_policy_from_mapping(_table(raw, "surveys"))
    if surveys.recovery and tickets.category(surveys.recovery_category) is None:
        known = ", ".join(c.key for c in tickets.categories)
        raise PolicyError(
            f"surveys.recovery_category {surveys.recovery_category!r} is not a ticket "
            f"category ({known})"
        )
    return surveys
