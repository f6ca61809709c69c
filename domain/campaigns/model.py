"""Campaigns as marketing knows them: an audience, a message, a coupon, a schedule, a control
group; the funnel a preview shows, the report afterwards, and referrals."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from domain.shared.errors import DomainError


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"  # written, not yet started: nobody gets anything
    RUNNING = "running"
    PAUSED = "paused"  # no new waves and no triggered sends until resumed
    FINISHED = "finished"  # a one-off campaign after its wave


class ScheduleKind(enum.StrEnum):
    ONCE = "once"  # one wave, at a local time in each member's store time zone
    RECURRING = "recurring"  # a wave at every cron fire time
    TRIGGERED = "triggered"  # a member at a time, when something happens to them


class Trigger(enum.StrEnum):
    ENTERED_SEGMENT = "entered_segment"
    MOVED_TO_AT_RISK = "moved_to_at_risk"
    DAYS_AFTER_FIRST_PURCHASE = "days_after_first_purchase"
    BIRTHDAY_MONTH = "birthday_month"
    POINTS_EXPIRING = "points_expiring"


class Group(enum.StrEnum):
    TREATED = "treated"  # gets the message
    CONTROL = "control"  # the campaign's hold-back: "would have been sent"
    HOLDOUT = "holdout"  # the chain's global hold-out: no marketing at all
    SKIPPED = "skipped"  # matched, but not sent by rule (reason says which)


# Why a matched member was not queued; the report counts them by these words.
NO_CONSENT = "no marketing consent"
OPTED_OUT = "sent /stop"
UNREACHABLE = "no reachable chat"
FREQUENCY_CAP = "frequency cap"  # checked when queued, and again by the sender when sent
HIGHER_PRIORITY = "another campaign the same day (higher priority, or already sent)"
ALREADY_RECEIVED = "received it before (re-entry rule)"

BUTTONS = ("coupon", "not_interested", "stop")
FIELDS = ("name", "points", "tier", "coupon_code", "coupon_expires", "store")


class CampaignError(DomainError):
    """A campaign cannot be created or changed as asked; the message says why."""

    key = "campaigns.error"


@dataclass(frozen=True)
class Audience:
    """Who a campaign is for: every given filter must hold (an empty tuple means any)."""

    segments: tuple[str, ...] = ()
    lifecycle: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()  # store codes
    birthday_month: int | None = None  # 1-12, or 0 for "the month the wave goes out"
    days_since_purchase: tuple[int | None, int | None] = (None, None)  # min, max (inclusive)
    p_alive: tuple[float | None, float | None] = (None, None)
    points: tuple[int | None, int | None] = (None, None)
    consent_only: bool = True


@dataclass(frozen=True)
class CampaignMessage:
    en: str
    zh: str
    buttons: tuple[str, ...] = BUTTONS
    photo: bytes | None = None


@dataclass(frozen=True)
class Schedule:
    kind: ScheduleKind
    at: datetime | None = None  # ONCE: the local wall-clock time (naive) in each store's zone
    cron: str = ""  # RECURRING: "minute hour day month weekday"
    send_time: time = time(10, 0)  # TRIGGERED members are written to at this local time
    trigger: Trigger | None = None
    segment: str = ""  # ENTERED_SEGMENT: which one
    days: int = 0  # DAYS_AFTER_FIRST_PURCHASE, POINTS_EXPIRING
    reentry_days: int | None = None  # None: once per member ever; 0: every time


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as written in its TOML file."""

    name: str
    audience: Audience
    message: CampaignMessage
    schedule: Schedule
    priority: int = 0  # the higher wins when two campaigns reach a member on one day
    control_share: float | None = None  # None: the policy's default
    coupon_template: str | None = None


@dataclass
class Campaign:
    spec: CampaignSpec
    status: CampaignStatus = CampaignStatus.DRAFT
    created_at: datetime | None = None
    created_by: str = ""
    started_at: datetime | None = None
    started_by: str = ""
    last_wave_at: datetime | None = None  # when the last wave was queued
    id: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class AudienceMember:
    """One matched member with what the funnel and the message need."""

    member_id: int
    name: str
    tier: str
    language: str | None
    marketing_consent: bool
    opted_out: bool
    chat_user_id: int | None
    chat_id: str | None
    store_code: str | None
    store_name: str | None
    timezone: str | None  # the home store's zone; None: the chain's
    points: int
    marketing_7d: int = 0


@dataclass
class Funnel:
    """How many of the matched members each rule leaves, in the order they apply."""

    matched: int = 0
    consent: int = 0
    not_stopped: int = 0
    reachable: int = 0
    under_cap: int = 0
    holdout: int = 0
    control: int = 0
    will_get: int = 0


@dataclass
class RecipientRow:
    """A member's place in one wave of a campaign: queued, held back or skipped, and why."""

    campaign_id: int
    member_id: int
    wave: str
    group: Group
    local_day: date
    assigned_at: datetime
    reason: str = ""
    dedupe_key: str | None = None
    coupon_id: int | None = None


@dataclass
class WaveRun:
    """What starting a campaign (or one of its waves) did."""

    matched: int = 0
    queued: int = 0
    control: int = 0
    holdout: int = 0
    coupons: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, other: WaveRun) -> None:
        self.matched += other.matched
        self.queued += other.queued
        self.control += other.control
        self.holdout += other.holdout
        self.coupons += other.coupons
        for reason, n in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        return (
            f"{self.matched} matched: {self.queued} queued, {self.control} control, "
            f"{self.holdout} hold-out, {skipped} skipped; {self.coupons} coupons issued"
        )


@dataclass(frozen=True)
class GroupOutcome:
    """Purchases of one group within the attribution window after its members' messages."""

    members: int
    buyers: int
    purchases: int
    revenue: Decimal


@dataclass(frozen=True)
class Uplift:
    """The difference in purchase rate, treated minus control, with its 95% interval."""

    treated_rate: float
    control_rate: float
    difference: float
    low: float
    high: float
    conclusive: bool  # False: the groups are too small for the normal approximation


@dataclass
class CampaignReport:
    campaign: Campaign
    delivery: dict[str, int]  # queued, delivered, unknown, blocked, failed, waiting, skipped
    skipped: dict[str, int]  # reason -> members (at start and by the sender)
    not_interested: int
    coupons_issued: int
    coupons_redeemed: int
    treated: GroupOutcome
    control: GroupOutcome
    uplift: Uplift | None
    incremental_revenue: Decimal | None
    referrals: dict[str, int]
    attribution_days: int
    cohorts: dict[str, int] = field(default_factory=dict)  # treated, control, holdout, skipped


# -- referrals ------------------------------------------------------------------------------


class ReferralStatus(enum.StrEnum):
    CLICKED = "clicked"  # someone opened the link; not a member yet
    ATTRIBUTED = "attributed"  # they joined: waiting for their first purchase
    REWARDED = "rewarded"
    REFUSED = "refused"  # a limit applied (reason says which)


@dataclass
class Referral:
    referrer_member_id: int
    chat_user_id: int | None
    clicked_at: datetime
    status: ReferralStatus = ReferralStatus.CLICKED
    referred_member_id: int | None = None
    reason: str = ""
    rewarded_at: datetime | None = None
    id: int | None = None
