"""Birthday gifts: a coupon on the member's local birthday, once a year, with a greeting.

Each store time zone has its own day. The job runs often (every few minutes); for each zone it
handles the local days from `catch_up_days` ago up to today (today only once the local time has
reached `send_at`), and marks a (zone, day) done when every member of it has been handled, so a
finished day costs one small query afterwards. Running it twice, after a restart or from two
scheduler processes, is harmless: a member has at most one coupon per source (`birthday:2027`,
unique in the database too) and one greeting per dedupe key (`birthday:2027:member:42`).

Members born on 29 February celebrate on 28 February in other years.

A member who sets a birthday that has already passed this year waits until next year: a day
once done is not looked at again (this also stops "set my birthday to today" for a coupon).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from domain.coupons.rules import (
    birthday_mds,
    birthday_source,
    coupon_from_template,
    due_days,
    format_code,
    greeting_key,
    new_code,
)
from domain.coupons.services import issue_coupon
from domain.messaging.model import MessageKind, OutboxMessage
from domain.messaging.rules import refusal_of_unasked
from domain.shared.outbox import queue_message

if TYPE_CHECKING:
    from domain.coupons.model import Coupon
    from domain.members.model import Member
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork

JOB = "birthday-coupons"
GREETING = "birthday.greeting"  # the greeting's message key


@dataclass
class BirthdayRun:
    """What one run did, for `retailbot jobs list`."""

    days: list[str] = field(default_factory=list)  # "Asia/Shanghai 2027-06-15" handled now
    members: int = 0
    issued: int = 0
    greeted: int = 0

    def summary(self) -> str:
        if not self.days:
            return "nothing due"
        return (
            f"{len(self.days)} zone-day(s) ({', '.join(self.days)}): {self.members} birthdays, "
            f"{self.issued} coupons issued, {self.greeted} greetings queued"
        )


@dataclass(frozen=True)
class BirthdayDay:
    """One local day of one time zone whose gifts are due: the job's unit of work."""

    timezone: str
    day: date
    store_ids: tuple[int, ...]
    unassigned: bool  # members without a home store celebrate in the chain's zone

    @property
    def mark(self) -> str:
        return f"{self.timezone}:{self.day.isoformat()}"


async def due_birthday_days(uow: UnitOfWork, policy: Policy, now: datetime) -> list[BirthdayDay]:
    """The zone-days whose gifts are due by `now` and not yet done, oldest first per zone."""
    if not policy.birthday.template:
        return []
    zones: dict[str, list[int]] = {policy.timezone: []}
    for store in await uow.stores.list():
        if store.id is not None:
            zones.setdefault(store.timezone, []).append(store.id)
    due = [
        BirthdayDay(tz, day, tuple(ids), tz == policy.timezone)
        for tz, ids in zones.items()
        for day in due_days(now, tz, policy)
    ]
    done = await uow.jobs.done(JOB, [d.mark for d in due])
    return [d for d in due if d.mark not in done]


async def members_of_day(uow: UnitOfWork, day: BirthdayDay) -> list[Member]:
    """Whose birthday it is on that zone-day (an indexed lookup)."""
    return await uow.members.born_on(
        birthday_mds(day.day), day.store_ids, unassigned=day.unassigned
    )


async def gift_members(
    uow: UnitOfWork,
    policy: Policy,
    day: BirthdayDay,
    members: Sequence[Member],
    now: datetime,
    run: BirthdayRun,
) -> None:
    """Issue the birthday coupon to each of `members` and queue their greetings."""
    run.members += len(members)
    await _gift_batch(uow, policy, day.timezone, day.day, members, now, run)


async def finish_day(uow: UnitOfWork, day: BirthdayDay, now: datetime, run: BirthdayRun) -> None:
    """Mark a zone-day done: later runs look at it no more."""
    await uow.jobs.mark_done(JOB, day.mark, now)
    run.days.append(f"{day.timezone} {day.day.isoformat()}")


async def _gift_batch(
    work: UnitOfWork,
    policy: Policy,
    tz: str,
    day: date,
    batch: Sequence[Member],
    now: datetime,
    run: BirthdayRun,
) -> None:
    template = policy.coupon_template(policy.birthday.template)
    source = birthday_source(day)
    ids = [m.id for m in batch if m.id is not None]
    # Validity counts from the day it is issued, so a gift caught up late loses no days.
    fresh = [
        coupon_from_template(template, member_id, source, new_code(), now, tz) for member_id in ids
    ]
    run.issued += await work.coupons.add_many_if_new(fresh)
    held = await work.coupons.by_source(ids, source)
    for member_id in set(ids) - held.keys():
        # Rare: a code collided inside the batch insert; issue these one by one.
        coupon, new = await issue_coupon(work, policy, member_id, template.key, source, now)
        held[member_id] = coupon
        run.issued += int(new)
    chats = await work.chat_users.reachable_chats(ids)
    for member in batch:
        if member.id is None or member.id not in chats or refusal_of_unasked(
            MessageKind.SERVICE, GREETING, opted_out_at=member.opted_out_at
        ) is not None:
            continue  # the coupon waits in /coupons; only the greeting is not sent (/stop)
        coupon = held[member.id]
        chat = chats[member.id]
        queued = await queue_message(
            work,
            OutboxMessage(
                dedupe_key=greeting_key(day, member.id),
                chat_id=chat.chat_id,
                chat_user_id=chat.chat_user_id,
                member_id=member.id,
                kind=MessageKind.SERVICE,
                message_key=GREETING,
                params=_greeting_params(member, coupon, tz),
                buttons=[[{"key": "coupons.show_button", "data": f"cp:{coupon.id}"}]],
                quiet_hours=True,  # a greeting at 3 a.m. is no gift: it waits for the morning
            ),
            now,
        )
        run.greeted += int(queued)


def _greeting_params(member: Member, coupon: Coupon, tz: str) -> dict[str, object]:
    return {
        "name": member.name,
        "coupon": {"en": coupon.name_en, "zh": coupon.name_zh},
        "code": format_code(coupon.code),
        "day": coupon.last_valid_day(tz).isoformat(),
    }
