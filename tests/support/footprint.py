"""A member with rows in every feature, for the tests that export, merge, erase or age out
everything a member left behind; and how to see what remains of them."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, func, insert, select

from bot.bootstrap import App
from domain.campaigns.services import queue_wave, start_campaign, wave_audience
from domain.coupons.services import issue_coupon
from domain.messaging.model import MessageKind, OutboxMessage
from domain.privacy.model import Purpose
from domain.privacy.services import request_erasure, set_consent
from domain.surveys.services import invite_segment, queue_weekly_summary
from scheduler.jobs.segments import refresh_segments
from storage.campaigns.tables import referrals
from storage.coupons.tables import coupons
from storage.loyalty.tables import points_ledger, receipts
from storage.messaging.tables import outbox
from storage.surveys.tables import survey_answers
from storage.tickets.tables import ticket_messages, tickets
from tests.support.callbacks import call_back_on_the_phone
from tests.support.campaigns import campaign_toml, new_campaign
from tests.support.conversation import MEMBER, photo, say
from tests.support.surveys import add_receipt
from tests.support.surveys import press as press_survey
from tests.support.surveys import write as write_survey
from tests.support.tickets import AGENT, MANAGER, STAFF_GROUP, clock, complain, seed_desk

# Wednesday 10 June 2026, 10:00 in Shanghai: the weekly summary of that week comes on the 15th.
SEEDED_AT = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
SUMMARY_AT = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)

NAME = "Zhou Xiaoyu"
PHONE = "+8613812345678"
NATIONAL = "13812345678"
BIRTHDAY = date(1988, 7, 14)
DESCRIPTION = "The yoghurt in aisle 7 was mouldy, my son got sick"
FOLLOW_UP = "I kept the pot at home on Jinqiao Road"
CAPTION = "photo of the pot on my kitchen table"
PHOTO_ID = "AgACfootprint-photo-of-the-pot"
COMMENT = "Nobody called me back about the yoghurt"
STAFF_ANSWER = f"Dear {NAME}, we are sorry and will refund you"
GREETING_TEXT = f"Happy birthday, {NAME}!"
BIRTHDAY_SOURCE = "birthday:2026"

# What must be gone after an erase, wherever it was copied to.
PERSONAL = [NAME, NATIONAL, BIRTHDAY.isoformat(), DESCRIPTION, FOLLOW_UP, CAPTION, PHOTO_ID,
            COMMENT]


@dataclass
class Footprint:
    member_id: int
    other_id: int


async def seed_footprint(app: App) -> Footprint:
    """Member 1 (Zhou) with a chat, points, a receipt, a coupon, messages, a complaint with a
    thread and audit rows, and a commented detractor survey quoted in the weekly summary;
    member 2 with a chat, a receipt and the same birthday coupon source."""
    desk = await seed_desk(app)
    member, other = desk.member, desk.other
    assert member.id is not None and other.id is not None
    now = app.clock.now()
    async with app.uow_factory() as uow:
        member = replace(member, name=NAME, phone=PHONE, birthday=BIRTHDAY,
                         marketing_consent=True)
        assert member.id is not None
        await uow.members.update(member)
        await issue_coupon(uow, app.policy, member.id, "birthday", BIRTHDAY_SOURCE, now)
        await issue_coupon(uow, app.policy, other.id, "birthday", BIRTHDAY_SOURCE, now)
        chat = await uow.chat_users.get("telegram", str(MEMBER))
        assert chat is not None
        for key, text, params in [
            ("footprint:greeting", None, {"name": NAME, "day": BIRTHDAY.isoformat()}),
            ("footprint:text", GREETING_TEXT, {}),
        ]:
            await uow.outbox.add(
                OutboxMessage(
                    dedupe_key=key, chat_id=str(MEMBER), chat_user_id=chat.id,
                    member_id=member.id, kind=MessageKind.SERVICE,
                    message_key="birthday.greeting" if text is None else None, text=text,
                    params=params, created_at=now, next_attempt_at=now,
                )
            )
        await uow.commit()
    shop = desk.shop
    await add_receipt(app, "R-FP-1", member.id, shop.shanghai, now - timedelta(hours=3), "88.50")
    await add_receipt(app, "R-FP-2", other.id, shop.shanghai, now - timedelta(hours=2), "12.00")
    async with app.uow_factory() as uow:  # the points summary /points keeps (points_summaries)
        await uow.ledger.summary(member.id)
        await uow.commit()
    # Segments: the refresh builds both members' statistics from the receipts and scores them.
    await refresh_segments(app.uow_factory, app.policy, now)
    await _campaign_footprint(app, member.id, other.id)

    ticket_id = await complain(app, DESCRIPTION)
    (added,) = await say(app, FOLLOW_UP)
    assert added.key == "complaint.added"
    (added,) = await photo(app, PHOTO_ID, CAPTION)
    assert added.key == "complaint.added"
    (replied, *_) = await say(app, f"/reply {ticket_id} {STAFF_ANSWER}", user=AGENT)
    assert replied.key.startswith("desk."), replied.key
    await say(app, f"/member {PHONE}", user=MANAGER)  # audited: member.search, member.view
    await call_back_on_the_phone(app, ticket_id, STAFF_ANSWER)  # callbacks, their log, a flag

    async with app.uow_factory() as uow:
        run = await invite_segment(uow, app.policy, [member.id], "nps", now, label="footprint")
        await uow.commit()
    assert run.invited == 1
    buttons = await _survey_buttons(app, member.id)
    await press_survey(app, buttons[0][3]["data"], user=MEMBER)  # NPS 3: a detractor
    await write_survey(app, COMMENT, user=MEMBER)
    async with app.engine.connect() as conn:
        comment = await conn.scalar(select(survey_answers.c.comment))
        complaints = await conn.scalar(
            select(func.count()).select_from(tickets).where(tickets.c.member_id == member.id)
        )
    assert comment == COMMENT
    assert complaints == 2  # theirs, and the call-back the detractor's answer opened

    clock(app).set(SUMMARY_AT)
    async with app.uow_factory() as uow:
        done = await queue_weekly_summary(uow, app.policy, str(STAFF_GROUP), None, SUMMARY_AT)
        await uow.commit()
    assert "queued" in done, done
    assert member.id is not None
    # Privacy: a consent withdrawn, a deletion asked for (and pending), a number merged in.
    async with app.uow_factory() as uow:
        await set_consent(uow, app.policy, member.id, Purpose.CALLS, False, SUMMARY_AT)
        await request_erasure(uow, app.policy, member.id, SUMMARY_AT)
        await uow.privacy.add_alias("OLD-CARD-1", member.id, SUMMARY_AT)
        await uow.commit()
    return Footprint(member.id, other.id)


async def _campaign_footprint(app: App, member_id: int, other_id: int) -> None:
    """A campaign wave reaches the member (their own coupon and offer); each member referred
    the other."""
    campaign = await new_campaign(
        app, campaign_toml("Footprint", extra="control_share = 0", audience="consent = false")
    )
    now = app.clock.now()
    async with app.uow_factory() as uow:
        await start_campaign(uow, campaign.id or 0, "cli", now)
        reached = await wave_audience(uow, app.policy, campaign, now, member_ids=[member_id])
        await queue_wave(uow, app.policy, campaign, "once", reached, now)
        await uow.commit()
    async with app.engine.begin() as conn:
        for referrer, referred in ((member_id, other_id), (other_id, member_id)):
            await conn.execute(
                insert(referrals).values(
                    referrer_member_id=referrer, referred_member_id=referred,
                    status="attributed", clicked_at=app.clock.now(),
                )
            )


async def _survey_buttons(app: App, member_id: int) -> Any:
    async with app.engine.connect() as conn:
        row = (
            await conn.execute(
                select(outbox.c.buttons).where(
                    outbox.c.member_id == member_id, outbox.c.message_key == "surveys.invite"
                )
            )
        ).one()
    return row.buttons


async def member_books(app: App, member_id: int) -> dict[str, Any]:
    """What the chain's accounts and statistics count for a member."""
    async with app.engine.connect() as conn:

        async def one(statement: Any) -> Any:
            return await conn.scalar(statement)

        their_tickets = select(tickets.c.id).where(tickets.c.member_id == member_id)
        return {
            "points": await one(select(func.coalesce(func.sum(points_ledger.c.points), 0))
                                .where(points_ledger.c.member_id == member_id)),
            "ledger_entries": await one(select(func.count()).select_from(points_ledger)
                                        .where(points_ledger.c.member_id == member_id)),
            "receipts_cents": await one(select(func.coalesce(func.sum(receipts.c.amount_cents),
                                                             0))
                                        .where(receipts.c.member_id == member_id)),
            "coupons_cents": await one(select(func.coalesce(func.sum(coupons.c.value_cents), 0))
                                       .where(coupons.c.member_id == member_id)),
            "tickets": await one(select(func.count()).select_from(tickets)
                                 .where(tickets.c.member_id == member_id)),
            "thread": await one(select(func.count()).select_from(ticket_messages)
                                .where(ticket_messages.c.ticket_id.in_(their_tickets))),
            "scores": await one(select(func.coalesce(func.sum(survey_answers.c.score), -1))
                                .where(survey_answers.c.member_id == member_id)),
        }


async def copies_of(app: App, needles: list[str], birthday: date) -> list[str]:
    """Every place in the whole database (every table, not only ours) holding one of `needles`
    or the birthday, as `table.column: needle`."""
    found = []
    async with app.engine.connect() as conn:
        schema = MetaData()
        await conn.run_sync(schema.reflect)
        for table in schema.sorted_tables:
            for row in await conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if value == birthday:
                        found.append(f"{table.name}.{column}: {birthday}")
                    text = _as_text(value)
                    found += [f"{table.name}.{column}: {n}" for n in needles if n in text]
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "ignore")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return "" if value is None else str(value)
