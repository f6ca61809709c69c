"""The [campaigns] section of retailbot.toml: control groups, hold-out, attribution, referrals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.shared.errors import PolicyError
from domain.shared.policy_values import number, table, whole_number

REFERRAL_REWARDS = ("points", "coupon", "none")


@dataclass(frozen=True)
class ReferralPolicy:
    """What a referrer and the member they brought get after the new member's first purchase."""

    reward: str = "points"  # points, coupon or none
    referrer_points: int = 100
    referred_points: int = 50
    coupon_template: str = "ten_off"  # when reward = "coupon", for both
    max_per_month: int = 10  # referrals rewarded per referrer and calendar month


@dataclass(frozen=True)
class CampaignPolicy:
    """How campaigns measure and hold back (see domain/campaigns/rules.py)."""

    control_share: float = 0.10  # default share of each campaign's audience held back
    global_holdout_share: float = 0.0  # members who get no marketing at all (0: off)
    attribution_days: int = 14  # purchases this long after a message count for the campaign
    min_group_size: int = 100  # fewer members in a group: "too small to conclude"
    every_minutes: int = 15  # how often the campaigns job looks for due waves
    referrals: ReferralPolicy = ReferralPolicy()


def _share(value: Any, where: str, top: float = 0.9) -> float:
    share = number(value, where)
    if not 0 <= share <= top:
        raise PolicyError(f"{where} must be between 0 and {top}, not {share}")
    return share


def campaign_policy_from_mapping(spec: Mapping[str, Any]) -> CampaignPolicy:
    """Read [campaigns] (and [campaigns.referrals]); a PolicyError names the wrong key."""
    ref = table(spec.get("referrals", {}), "campaigns.referrals")
    reward = str(ref.get("reward", ReferralPolicy.reward))
    if reward not in REFERRAL_REWARDS:
        raise PolicyError(
            f"campaigns.referrals.reward must be one of {', '.join(REFERRAL_REWARDS)}, "
            f"not {reward!r}"
        )
    return CampaignPolicy(
        control_share=_share(spec.get("control_share", 0.10), "campaigns.control_share"),
        global_holdout_share=_share(
            spec.get("global_holdout_share", 0.0), "campaigns.global_holdout_share", 0.5
        ),
        attribution_days=whole_number(
            spec.get("attribution_days", 14), "campaigns.attribution_days", 1
        ),
        min_group_size=whole_number(
            spec.get("min_group_size", 100), "campaigns.min_group_size", 1
        ),
        every_minutes=whole_number(spec.get("every_minutes", 15), "campaigns.every_minutes", 1),
        referrals=ReferralPolicy(
            reward=reward,
            referrer_points=whole_number(
                ref.get("referrer_points", 100), "campaigns.referrals.referrer_points", 0
            ),
            referred_points=whole_number(
                ref.get("referred_points", 50), "campaigns.referrals.referred_points", 0
            ),
            coupon_template=str(ref.get("coupon_template", ReferralPolicy.coupon_template)),
            max_per_month=whole_number(
                ref.get("max_per_month", 10), "campaigns.referrals.max_per_month", 0
            ),
        ),
    )
