"""Pure coupon decisions: codes with a check character, validity, birthdays' days."""

from __future__ import annotations

import calendar
import secrets
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from domain.coupons.model import Coupon, CouponRefused, CouponStatus
from domain.shared.clock import local_day

if TYPE_CHECKING:
    from domain.coupons.policy import CouponTemplate
    from domain.shared.policy import Policy

# No 0/O and no 1/I: a code read aloud at the till or typed from a screenshot stays unambiguous.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8  # seven random characters and a check character


def _check_character(body: str) -> str:
    """Luhn mod 32 over the alphabet: catches every single typo and most swaps of neighbours."""
    n = len(ALPHABET)
    total, factor = 0, 2
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_code(randbelow: Any = secrets.randbelow) -> str:
    """A fresh random code with its check character, e.g. 'K7MQ2XHD'."""
    body = "".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(CODE_LENGTH - 1))
    return body + _check_character(body)


def normalise_code(raw: str) -> str | None:
    """The code as stored, from what someone typed ('k7mq-2xhd ' -> 'K7MQ2XHD'); None if no code.

    A wrong check character means a typo, which is told apart from a code that does not exist.
    """
    text = "".join(raw.split()).replace("-", "").upper()
    if len(text) != CODE_LENGTH or any(char not in ALPHABET for char in text):
        return None
    if _check_character(text[:-1]) != text[-1]:
        return None
    return text


def format_code(code: str) -> str:
    """Shown to people in two halves, 'K7MQ-2XHD'; the till accepts it with or without the dash."""
    return f"{code[:4]}-{code[4:]}"


def coupon_from_template(
    template: CouponTemplate, member_id: int, source: str, code: str, now: datetime, tz: str
) -> Coupon:
    """A coupon valid today and `valid_days` more local days, in the member's time zone."""
    end_day = local_day(now, tz) + timedelta(days=template.valid_days + 1)
    expires_at = datetime.combine(end_day, time(0), tzinfo=ZoneInfo(tz))
    return Coupon(
        member_id=member_id,
        code=code,
        source=source,
        template_key=template.key,
        kind=template.kind,
        value=template.value,
        min_spend=template.min_spend,
        stores=template.stores,
        name_en=template.name_en,
        name_zh=template.name_zh,
        issued_at=now,
        expires_at=expires_at,
    )


def exchange_source(reward_key: str, nonce: str) -> str:
    return f"exchange:{reward_key}:{nonce}"


def _refuse_unless_usable(coupon: Coupon, now: datetime, tz: str) -> None:
    shown = format_code(coupon.code)
    if coupon.status is CouponStatus.REDEEMED:
        when = coupon.redeemed_at.astimezone(ZoneInfo(tz)) if coupon.redeemed_at else None
        raise CouponRefused(
            f"{coupon.code} was redeemed already",
            key="redeem.refused.redeemed_at",
            code=shown,
            when=when.strftime("%Y-%m-%d %H:%M") if when else "?",
            store=coupon.redeemed_store or "?",
        )
    if coupon.status is CouponStatus.CANCELLED:
        raise CouponRefused(
            f"{coupon.code} is cancelled", key="redeem.refused.cancelled", code=shown
        )
    if coupon.status is CouponStatus.EXPIRED or now >= coupon.expires_at:
        raise CouponRefused(
            f"{coupon.code} has expired",
            key="redeem.refused.expired",
            code=shown,
            day=coupon.last_valid_day(tz).isoformat(),
        )


def birthday_mds(day: date) -> tuple[int, ...]:
    """Birthdays (month*100+day) celebrated on `day`: 28 Feb also has 29 Feb's off leap years."""
    md = day.month * 100 + day.day
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        return (228, 229)
    return (md,)


def due_days(now: datetime, tz: str, policy: Policy) -> list[date]:
    """The local days of zone `tz` whose gifts are due by now, oldest first (with catch-up)."""
    local = now.astimezone(ZoneInfo(tz))
    last = local.date()
    if local.time().replace(tzinfo=None) < policy.birthday.send_at:
        last -= timedelta(days=1)
    return [last - timedelta(days=back) for back in range(policy.birthday.catch_up_days, -1, -1)]


def birthday_source(day: date) -> str:
    return f"birthday:{day.year}"


def greeting_key(day: date, member_id: int) -> str:
    return f"birthday:{day.year}:member:{member_id}"
