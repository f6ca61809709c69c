"""Coupons: human-friendly codes, issuing once per source, points exchange, redemption, expiry."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import DomainError, InsufficientPoints, InvalidInput
from domain.outbox import MessageKind, OutboxMessage, queue_message
from domain.points import EntryKind, LedgerEntry, PointsLedger
from domain.policy import CouponTemplate, Policy
from domain.ports import UnitOfWork

# No 0/O and no 1/I: a code read aloud at the till or typed from a screenshot stays unambiguous.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8  # seven random characters and a check character
ISSUE_ATTEMPTS = 5  # fresh codes tried when one collides (1 in 34 billion per try)


class CouponStatus(enum.StrEnum):
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


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
        return self.name_zh if lang == "zh" else self.name_en

    def usable(self, now: datetime) -> bool:
        return self.status is CouponStatus.ACTIVE and now < self.expires_at

    def last_valid_day(self, tz: str) -> date:
        """The last local day it can be used: the day before the expiry moment's day."""
        return (self.expires_at - timedelta(microseconds=1)).astimezone(ZoneInfo(tz)).date()

    def accepted_at(self, store_code: str) -> bool:
        return not self.stores or store_code.upper() in self.stores


def coupon_from_template(
    template: CouponTemplate, member_id: int, source: str, code: str, now: datetime, tz: str
) -> Coupon:
    """A coupon valid today and `valid_days` more local days, in the member's time zone."""
    local_day = now.astimezone(ZoneInfo(tz)).date()
    end_day = local_day + timedelta(days=template.valid_days + 1)
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


async def member_timezone(uow: UnitOfWork, policy: Policy, home_store_id: int | None) -> str:
    """The member's home store's time zone, else the chain's."""
    if home_store_id is not None:
        store = await uow.stores.get(home_store_id)
        if store is not None:
            return store.timezone
    return policy.timezone


async def issue_coupon(
    uow: UnitOfWork,
    policy: Policy,
    member_id: int,
    template_key: str,
    source: str,
    now: datetime,
) -> tuple[Coupon, bool]:
    """Issue a coupon from the template for `source`, once: (the coupon, whether it is new).

    The member's existing coupon for the same source is returned unchanged, so a rerun, a
    retried button or a second scheduler cannot give two; the database's unique (member,
    source) constraint enforces the same against writers we cannot see.
    """
    existing = await uow.coupons.get_by_source(member_id, source)
    if existing is not None:
        return existing, False
    member = await uow.members.get(member_id)
    if member is None:
        raise LookupError(f"member {member_id} does not exist")
    tz = await member_timezone(uow, policy, member.home_store_id)
    template = policy.coupon_template(template_key)
    for _ in range(ISSUE_ATTEMPTS):
        coupon = coupon_from_template(template, member_id, source, new_code(), now, tz)
        added = await uow.coupons.add_if_new(coupon)
        if added is not None:
            return added, True
        existing = await uow.coupons.get_by_source(member_id, source)
        if existing is not None:  # a concurrent writer issued it first
            return existing, False
    raise RuntimeError(f"no free coupon code after {ISSUE_ATTEMPTS} tries; is the RNG broken?")


async def active_coupons(uow: UnitOfWork, member_id: int, now: datetime) -> list[Coupon]:
    """The member's coupons that can be used now, the soonest to expire first."""
    return await uow.coupons.active_for(member_id, now)


# -- points exchange ----------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeResult:
    coupon: Coupon
    points: int  # what it cost
    balance: int  # points left afterwards
    repeated: bool  # the same confirmation came again: nothing new was booked


def exchange_source(reward_key: str, nonce: str) -> str:
    return f"exchange:{reward_key}:{nonce}"


async def exchange_points(
    uow: UnitOfWork, policy: Policy, member_id: int, reward_key: str, nonce: str, now: datetime
) -> ExchangeResult:
    """Spend points on a catalogue reward, in the caller's transaction: ledger entry and coupon.

    `nonce` comes from the confirmation button: the same button pressed twice (or by two
    workers at once) finds its coupon and books nothing more. The member is locked first, so
    two different confirmations are taken one after the other and the second sees the points
    the first spent: the balance never goes below zero. Points are taken oldest first.
    """
    reward = policy.reward(reward_key)
    if reward is None:
        raise InvalidInput(f"no reward {reward_key!r} in the catalogue", key="exchange.unknown")
    await uow.coupons.hold_member(member_id)
    source = exchange_source(reward.key, nonce)
    existing = await uow.coupons.get_by_source(member_id, source)
    if existing is not None:
        balance = await uow.ledger.balance(member_id)
        return ExchangeResult(existing, reward.points, balance, repeated=True)
    entries = await uow.ledger.entries_for(member_id)
    ledger = PointsLedger(member_id, entries)
    due = ledger.due_expirations(now)
    if due:
        await uow.ledger.append(due)
    available = ledger.available(now)
    if available < reward.points:
        raise InsufficientPoints(
            f"{reward.points} points needed, {available} available",
            key="exchange.not_enough",
            need=reward.points,
            have=available,
        )
    template = policy.coupon_template(reward.template)
    booked = await uow.ledger.append(
        [
            LedgerEntry(
                member_id=member_id,
                kind=EntryKind.REDEEM,
                points=-reward.points,
                source_key=f"exchange:{member_id}:{reward.key}:{nonce}",
                occurred_at=now,
                note=template.name_en,
            )
        ]
    )
    if booked == 0:
        # The entry exists although the coupon did not: only a writer outside this lock can
        # have done that. Refuse rather than issue a coupon nobody paid for in this step.
        raise DomainError("exchange entry already booked", key="exchange.stale")
    coupon, _new = await issue_coupon(uow, policy, member_id, reward.template, source, now)
    balance = await uow.ledger.balance(member_id)
    return ExchangeResult(coupon, reward.points, balance, repeated=False)


# -- redemption ---------------------------------------------------------------------------


class CouponRefused(DomainError):
    """Staff tried to redeem a coupon that cannot be used; `key` says why, for the till."""

    key = "redeem.refused.unknown"


@dataclass(frozen=True)
class Redeemer:
    """Who redeems, for the record: 'telegram:5001 (Wang)' or 'cli'."""

    label: str
    store_code: str | None = None  # the till's store when the staff account has one


async def redeem_coupon(
    uow: UnitOfWork,
    raw_code: str,
    *,
    store_code: str | None,
    by: Redeemer,
    now: datetime,
    member_no: str | None = None,
    spend: Decimal | None = None,
    tz: str = "UTC",
) -> Coupon:
    """Mark a coupon used at a store, exactly once, or refuse with the reason.

    The checks give staff a clear answer; the final conditional update (active and unexpired
    at this instant) is what makes two tills redeeming one code at the same moment end with one
    success, whatever the checks saw.
    """
    code = normalise_code(raw_code)
    if code is None:
        raise CouponRefused(f"{raw_code!r} is no valid code", key="redeem.refused.bad_code")
    coupon = await uow.coupons.get_by_code(code)
    if coupon is None or coupon.id is None:
        raise CouponRefused(f"no coupon {code}", key="redeem.refused.unknown")
    shown = format_code(code)
    if member_no is not None:
        member = await uow.members.get_by_member_no(member_no)
        if member is None or member.id != coupon.member_id:
            raise CouponRefused(
                f"{code} is not {member_no}'s", key="redeem.refused.not_owner", code=shown
            )
    _refuse_unless_usable(coupon, now, tz)
    store = store_code.strip().upper() if store_code else (by.store_code or "")
    if not store:
        raise CouponRefused("no store given", key="redeem.refused.needs_store", code=shown)
    if await uow.stores.get_by_code(store) is None:
        raise CouponRefused(f"no store {store}", key="redeem.refused.unknown_store", store=store)
    if not coupon.accepted_at(store):
        raise CouponRefused(
            f"{code} is not accepted at {store}",
            key="redeem.refused.wrong_store",
            code=shown,
            stores=", ".join(coupon.stores),
        )
    if spend is not None and spend < coupon.min_spend:
        raise CouponRefused(
            f"spend {spend} is below {coupon.min_spend}",
            key="redeem.refused.min_spend",
            code=shown,
            min_spend=f"{coupon.min_spend:.2f}",
        )
    if not await uow.coupons.mark_redeemed(coupon.id, now, store, by.label):
        fresh = await uow.coupons.get(coupon.id)
        _refuse_unless_usable(fresh or coupon, now, tz)
        raise CouponRefused("redeemed concurrently", key="redeem.refused.redeemed", code=shown)
    coupon.status = CouponStatus.REDEEMED
    coupon.redeemed_at, coupon.redeemed_store, coupon.redeemed_by = now, store, by.label
    return coupon


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


# -- expiry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryRun:
    expired: int
    reminded: int
    more: bool = False  # a full batch was handled: call again for the rest


REMINDER_BATCH = 500


async def expire_and_remind(uow: UnitOfWork, policy: Policy, now: datetime) -> ExpiryRun:
    """Mark coupons past their expiry, and queue one reminder per coupon expiring soon.

    The reminder is a service message that waits for the member's allowed hours and goes only
    to members who have not sent /stop; `reminded_at` on the coupon keeps it to one.
    """
    expired = await uow.coupons.expire_due(now)
    days = policy.delivery.coupon_reminder_days
    reminded = 0
    if days <= 0:
        return ExpiryRun(expired, 0)
    due = await uow.coupons.due_reminders(now, now + timedelta(days=days), REMINDER_BATCH)
    if not due:
        return ExpiryRun(expired, 0)
    member_ids = {c.member_id for c in due}
    chats = await uow.outbox.reachable_chats(member_ids)
    for coupon in due:
        assert coupon.id is not None
        member = await uow.members.get(coupon.member_id)
        chat = chats.get(coupon.member_id)
        if member is None or chat is None or member.opted_out_at is not None:
            continue
        tz = await member_timezone(uow, policy, member.home_store_id)
        inserted = await queue_message(
            uow,
            OutboxMessage(
                dedupe_key=f"coupon:{coupon.id}:expiry-reminder",
                chat_id=chat.chat_id,
                chat_user_id=chat.chat_user_id,
                member_id=coupon.member_id,
                kind=MessageKind.SERVICE,
                message_key="coupons.expiry_reminder",
                params={
                    "name": {"en": coupon.name_en, "zh": coupon.name_zh},
                    "code": format_code(coupon.code),
                    "day": coupon.last_valid_day(tz).isoformat(),
                },
                buttons=[[{"key": "coupons.show_button", "data": f"cp:{coupon.id}"}]],
                quiet_hours=True,
            ),
            now,
        )
        reminded += int(inserted)
    await uow.coupons.mark_reminded([c.id for c in due if c.id is not None], now)
    return ExpiryRun(expired, reminded, more=len(due) == REMINDER_BATCH)
