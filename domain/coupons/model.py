"""Coupons as the business knows them: a code, a value, an owner, a state."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from domain.shared.clock import local_day
from domain.shared.errors import DomainError
from domain.shared.text import in_language


class CouponStatus(enum.StrEnum):
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass
class Coupon:
    """One coupon a member holds, with the terms copied from its template when issued."""

    member_id: int
    code: str
    source: str  # "birthday:2027", "exchange:ten_off:k3f9", "campaign:12": one per member
    template_key: str
    kind: str
    value: Decimal
    min_spend: Decimal
    stores: tuple[str, ...]
    name_en: str
    name_zh: str
    issued_at: datetime
    expires_at: datetime  # the first moment it is no longer valid
    status: CouponStatus = CouponStatus.ACTIVE
    redeemed_at: datetime | None = None
    redeemed_store: str | None = None
    redeemed_by: str | None = None
    reminded_at: datetime | None = None
    id: int | None = None

    def name(self, lang: str) -> str:
        return in_language(lang, self.name_en, self.name_zh)

    def usable(self, now: datetime) -> bool:
        return self.status is CouponStatus.ACTIVE and now < self.expires_at

    def last_valid_day(self, tz: str) -> date:
        """The last local day it can be used: the day before the expiry moment's day."""
        return local_day(self.expires_at - timedelta(microseconds=1), tz)

    def accepted_at(self, store_code: str) -> bool:
        return not self.stores or store_code.upper() in self.stores


# -- points exchange ----------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeResult:
    coupon: Coupon
    points: int  # what it cost
    balance: int  # points left afterwards
    repeated: bool  # the same confirmation came again: nothing new was booked


# -- redemption ---------------------------------------------------------------------------


class CouponRefused(DomainError):
    """Staff tried to redeem a coupon that cannot be used; `key` says why, for the till."""

    key = "redeem.refused.unknown"


@dataclass(frozen=True)
class Redeemer:
    """Who redeems, for the record: 'telegram:5001 (Wang)' or 'cli'."""

    label: str
    store_code: str | None = None  # the till's store when the staff account has one


# -- expiry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryRun:
    expired: int
    reminded: int
    more: bool = False  # a full batch was handled: call again for the rest
