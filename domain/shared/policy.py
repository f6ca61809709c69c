"""The store's rules from retailbot.toml: points, tiers, coupons, delivery, tickets, surveys.
Safe defaults.

The policy is composed of feature sections, each parsed in its own feature package
(`domain/<feature>/policy.py`, with the value readers of domain/shared/policy_values.py); this
module only puts them together and reads the chain-level keys at the top of the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.callbacks.policy import CallbackPolicy, callback_policy_from_mapping
from domain.campaigns.policy import CampaignPolicy, campaign_policy_from_mapping
from domain.coupons.policy import (
    DEFAULT_COUPON_TEMPLATES,
    DEFAULT_EXCHANGE,
    BirthdayPolicy,
    CouponTemplate,
    ExchangeReward,
    coupon_policy_from_mapping,
)
from domain.imports.policy import ImportPolicy, import_policy_from_mapping
from domain.loyalty.policy import (
    DEFAULT_TIERS,
    ROUNDING_MODES,
    PointsPolicy,
    Tier,
    loyalty_policy_from_mapping,
)
from domain.members.policy import DEFAULT_FAQ, faq_policy_from_mapping

# FaqEntry lives with the FAQ section; it is re-exported here, where Policy names it.
from domain.members.policy import FaqEntry as FaqEntry
from domain.messaging.policy import DeliveryPolicy, delivery_policy_from_mapping
from domain.privacy.policy import PrivacyPolicy, privacy_policy_from_mapping
from domain.segments.policy import SegmentPolicy, segment_policy_from_mapping
from domain.shared.errors import PolicyError
from domain.shared.policy_values import section, whole_number
from domain.surveys.policy import SurveyPolicy, survey_policy_from_mapping
from domain.tickets.policy import TicketPolicy, ticket_policy_from_mapping


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
    segments: SegmentPolicy = field(default_factory=SegmentPolicy)
    campaigns: CampaignPolicy = field(default_factory=CampaignPolicy)
    privacy: PrivacyPolicy = field(default_factory=PrivacyPolicy)
    callbacks: CallbackPolicy = field(default_factory=CallbackPolicy)
    imports: ImportPolicy = field(default_factory=ImportPolicy)

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


def policy_from_mapping(data: Mapping[str, Any]) -> Policy:
    """Build a Policy from parsed TOML; raise PolicyError naming the key that is wrong.

    Each feature parser is given the table its keys are in: loyalty ([points], [[tiers]]),
    the FAQ ([[faq]], faq_min_score) and coupons ([coupons], [birthday]) read the top of the
    file, delivery, tickets and surveys their own table.
    """
    loyalty = loyalty_policy_from_mapping(data)
    faq = faq_policy_from_mapping(data)
    coupons = coupon_policy_from_mapping(data)
    tickets = ticket_policy_from_mapping(section(data, "tickets"))
    return Policy(
        chain_name=str(data.get("chain_name", Policy.chain_name)),
        timezone=_timezone(data.get("timezone", Policy.timezone)),
        default_region=str(data.get("default_region", Policy.default_region)),
        currency=str(data.get("currency", Policy.currency)),
        points=loyalty.points,
        tiers=loyalty.tiers,
        faq=faq.entries,
        faq_min_score=faq.min_score,
        max_text_length=whole_number(
            data.get("max_text_length", Policy.max_text_length), "max_text_length", 1
        ),
        coupon_templates=coupons.templates,
        exchange=coupons.exchange,
        birthday=coupons.birthday,
        delivery=delivery_policy_from_mapping(section(data, "delivery")),
        tickets=tickets,
        surveys=survey_policy_from_mapping(
            section(data, "surveys"), ticket_categories=[c.key for c in tickets.categories]
        ),
        callbacks=callback_policy_from_mapping(section(data, "callbacks")),
        segments=segment_policy_from_mapping(section(data, "segments")),
        campaigns=campaign_policy_from_mapping(section(data, "campaigns")),
        privacy=privacy_policy_from_mapping(section(data, "privacy")),
        imports=import_policy_from_mapping(section(data, "imports")),
    )


def _timezone(value: Any) -> str:
    tz = str(value)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"timezone {tz!r} is not a known IANA time zone") from exc
    return tz
