"""Coupons: human-friendly codes, issuing once per source, points exchange, redemption, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.coupons.model import (
    Coupon,
    CouponRefused,
    CouponStatus,
    ExchangeResult,
    ExpiryRun,
    Redeemer,
)
from domain.coupons.rules import (
    _refuse_unless_usable,
    coupon_from_template,
    exchange_source,
    format_code,
    new_code,
    normalise_code,
)
from domain.loyalty.model import EntryKind, LedgerEntry, PointsLedger
from domain.messaging.model import MessageKind, OutboxMessage
from domain.messaging.rules import refusal_of_unasked
from domain.shared.errors import DomainError, InsufficientPoints, InvalidInput
from domain.shared.outbox import queue_message

if TYPE_CHECKING:
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork

ISSUE_ATTEMPTS = 5  # fresh codes tried when one collides (1 in 34 billion per try)


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
            missing=reward.points - available,
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


REMINDER_BATCH = 500
EXPIRY_REMINDER = "coupons.expiry_reminder"  # the reminder's message key


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
    chats = await uow.chat_users.reachable_chats(member_ids)
    for coupon in due:
        assert coupon.id is not None
        member = await uow.members.get(coupon.member_id)
        chat = chats.get(coupon.member_id)
        if member is None or chat is None:
            continue
        if refusal_of_unasked(
            MessageKind.SERVICE, EXPIRY_REMINDER, opted_out_at=member.opted_out_at
        ) is not None:
            continue  # /stop: the messaging rules leave the member without the reminder
        tz = await member_timezone(uow, policy, member.home_store_id)
        inserted = await queue_message(
            uow,
            OutboxMessage(
                dedupe_key=f"coupon:{coupon.id}:expiry-reminder",
                chat_id=chat.chat_id,
                chat_user_id=chat.chat_user_id,
                member_id=coupon.member_id,
                kind=MessageKind.SERVICE,
                message_key=EXPIRY_REMINDER,
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
