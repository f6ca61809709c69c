"""A member's footprint, in one place: every table naming a member is declared by some feature's
MemberData, and on a real database a member's rows in every feature are exported, moved to
another member, and erased without leaving a copy of who they are or what they wrote."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, func, insert, select

from bot.bootstrap import App, build_app
from bot.config import Settings
from domain.campaigns.services import queue_wave, start_campaign, wave_audience
from domain.coupons.services import issue_coupon
from domain.messaging.model import MessageKind, OutboxMessage
from domain.privacy.model import Purpose
from domain.privacy.services import request_erasure, set_consent
from domain.shared.clock import FixedClock
from domain.shared.member_data import (
    ERASED_NAME,
    Export,
    erase_member,
    export_member,
    reassign_member,
)
from domain.surveys.services import invite_segment, queue_weekly_summary
from scheduler.jobs.segments import refresh_segments
from storage.campaigns.tables import referrals
from storage.coupons.member_data import merged_source
from storage.coupons.tables import coupons
from storage.loyalty.tables import points_ledger, receipts
from storage.member_data import (
    MEMBER_DATA,
    declared_columns,
    member_columns,
    member_data_for,
    uncovered_columns,
)
from storage.members.tables import chat_users, members
from storage.messaging.tables import outbox
from storage.metadata import register_all_tables
from storage.surveys.tables import survey_answers
from storage.tickets.tables import ticket_messages, tickets
from tests.support.callbacks import call_back_on_the_phone
from tests.support.campaigns import campaign_toml, new_campaign
from tests.support.conversation import MEMBER, photo, say
from tests.support.surveys import add_receipt
from tests.support.surveys import press as press_survey
from tests.support.surveys import write as write_survey
from tests.support.tickets import AGENT, MANAGER, OTHER_MEMBER, STAFF_GROUP, complain, seed_desk

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

# Tables keyed by the member (a summary per member): a merge adds them up, it does not move rows.
PER_MEMBER_SUMMARIES = {"member_stats", "member_segments", "member_consents",
                        "points_summaries"}

# What must be gone after an erase, wherever it was copied to.
PERSONAL = [NAME, NATIONAL, BIRTHDAY.isoformat(), DESCRIPTION, FOLLOW_UP, CAPTION, PHOTO_ID,
            COMMENT]


# -- the coverage check: no table naming a member is left out --------------------------------


def test_every_table_naming_a_member_is_declared_by_a_feature() -> None:
    assert uncovered_columns(register_all_tables()) == [], (
        "declare these columns in the MemberData of the feature that owns the table "
        "(storage/<feature>/member_data.py) and list it in storage/member_data.py"
    )


def test_the_check_sees_real_member_columns() -> None:
    # If the walk found nothing it would pass for the wrong reason.
    found = member_columns(register_all_tables())
    assert {("receipts", "member_id"), ("chat_users", "member_id"),
            ("survey_answers", "member_id"), ("audit_log", "member_id")} <= found


def test_every_declared_column_exists_in_the_schema() -> None:
    schema = register_all_tables()
    stale = [
        f"{table}.{column}"
        for table, column in sorted(declared_columns())
        if table not in schema.tables or column not in schema.tables[table].c
    ]
    assert stale == []


def test_the_check_fails_for_a_table_nobody_declares() -> None:
    throwaway = MetaData()
    Table("members", throwaway, Column("id", Integer, primary_key=True))
    Table("receipts", throwaway, Column("id", Integer, primary_key=True),
          Column("member_id", Integer, ForeignKey("members.id")))
    # A new feature: a foreign key under another name, and member columns without one.
    Table("wishlists", throwaway, Column("id", Integer, primary_key=True),
          Column("owner", Integer, ForeignKey("members.id")))
    Table("referrals", throwaway, Column("id", Integer, primary_key=True),
          Column("referrer_id", Integer), Column("invited_member_id", Integer),
          Column("note", String(50)))
    assert uncovered_columns(throwaway) == [
        "referrals.invited_member_id", "referrals.referrer_id", "wishlists.owner"
    ]


def test_chat_accounts_can_be_forgotten_without_breaking_a_reference() -> None:
    """Erase deletes a member's chat accounts and sets what points at them to NULL first."""
    pointing = [
        column
        for table in register_all_tables().tables.values()
        for column in table.columns
        if any(fk.target_fullname == "chat_users.id" for fk in column.foreign_keys)
    ]
    assert pointing and all(column.nullable for column in pointing)


def test_every_feature_names_itself_and_its_tables() -> None:
    names = [part.name for part in MEMBER_DATA]
    assert len(names) == len(set(names))
    assert all(part.tables for part in MEMBER_DATA)


# -- a member with rows in every feature ------------------------------------------------------


@dataclass
class Footprint:
    member_id: int
    other_id: int


@pytest.fixture
async def desk_app(database_url: str) -> AsyncIterator[App]:
    """The real app with a staff group, on SQLite and on PostgreSQL."""
    settings = Settings(database_url=database_url, staff_chat_id=STAFF_GROUP)
    built = await build_app(settings, clock=FixedClock(SEEDED_AT))
    try:
        yield built
    finally:
        await built.close()


def _clock(app: App) -> FixedClock:
    assert isinstance(app.clock, FixedClock)
    return app.clock


async def _seed_footprint(app: App) -> Footprint:
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

    _clock(app).set(SUMMARY_AT)
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


async def _export(app: App, member_id: int) -> Export:
    async with app.engine.connect() as conn:
        return await export_member(member_data_for(conn), member_id)


async def _books(app: App, member_id: int) -> dict[str, Any]:
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


# -- export ------------------------------------------------------------------------------------


async def test_export_holds_the_members_rows_of_every_declared_table(desk_app: App) -> None:
    app = desk_app
    fp = await _seed_footprint(app)
    async with app.engine.connect() as conn:
        for part in member_data_for(conn):
            exported = await part.export(fp.member_id)
            empty = [table for table in part.tables if not exported.get(table)]
            assert empty == [], f"{part.name} exported no rows of {empty}"
    everything = await _export(app, fp.member_id)
    json.dumps(everything)  # JSON-friendly as it is

    (row,) = everything["members"]
    assert (row["name"], row["phone"], row["birthday"]) == (NAME, PHONE, BIRTHDAY.isoformat())
    assert {r["receipt_no"] for r in everything["receipts"]} == {"R-FP-1"}
    # Nobody else's rows: every row naming a member names this one.
    for table, column in declared_columns():
        for exported_row in everything.get(table, []):
            if column == "member_id" and exported_row[column] is not None:
                assert exported_row[column] == fp.member_id, (table, exported_row)
    texts = json.dumps(everything, ensure_ascii=False)
    for said in (DESCRIPTION, FOLLOW_UP, COMMENT, STAFF_ANSWER):
        assert said in texts
    # The staff's card of the complaint is theirs too (it shows their name and complaint).
    cards = [r for r in everything["outbox"] if r["message_key"] == "desk.card"]
    assert cards and all(r["member_id"] is None for r in cards)


# -- reassign ------------------------------------------------------------------------------------


async def test_reassign_moves_every_row_to_the_kept_member(desk_app: App) -> None:
    app = desk_app
    fp = await _seed_footprint(app)
    before = await _export(app, fp.member_id)
    kept_before = await _export(app, fp.other_id)
    books = await _books(app, fp.member_id)
    kept_books = await _books(app, fp.other_id)

    async with app.engine.begin() as conn:
        moved = await reassign_member(member_data_for(conn), fp.member_id, fp.other_id)
    assert all(moved[name] > 0 for name in ("members", "loyalty", "coupons", "messaging",
                                            "tickets", "surveys")), moved

    after = await _export(app, fp.member_id)
    assert {table: rows for table, rows in after.items() if rows} == {
        "members": before["members"]  # the merged member's own row is the caller's to remove
    }
    kept = await _export(app, fp.other_id)
    for table, rows in before.items():
        # One row per member, merged into the kept member's row rather than moved (see
        # tests/integration/segments for the sums).
        if table == "members" or table in PER_MEMBER_SUMMARIES:
            continue
        ids = {r["id"] for r in kept[table]}
        assert {r["id"] for r in rows} <= ids, table
        assert len(ids) == len({r["id"] for r in rows} | {r["id"] for r in kept_before[table]})
    async with app.engine.connect() as conn:
        for table_name, column in sorted(declared_columns() - {("members", "id")}):
            declared = register_all_tables().tables[table_name]
            naming = declared.c[column] == fp.member_id
            if declared is ticket_messages:  # author_id is a staff id on the staff's messages
                naming = naming & (ticket_messages.c.author == "member")
            left = await conn.scalar(select(func.count()).select_from(declared).where(naming))
            assert left == 0, f"{table_name}.{column} still names the merged member"

    merged = await _books(app, fp.other_id)
    assert merged["points"] == books["points"] + kept_books["points"]
    assert merged["receipts_cents"] == books["receipts_cents"] + kept_books["receipts_cents"]
    assert merged["tickets"] == books["tickets"] + kept_books["tickets"]

    # Both had this year's birthday coupon: both are kept, codes unchanged, one per source.
    async with app.engine.connect() as conn:
        gifts = list(await conn.execute(
            select(coupons.c.code, coupons.c.source).where(coupons.c.member_id == fp.other_id)
            .where(coupons.c.source.like("birthday%"))  # not the campaign's coupon
            .order_by(coupons.c.id)
        ))
    assert [g.source for g in gifts] == [
        merged_source(BIRTHDAY_SOURCE, fp.member_id), BIRTHDAY_SOURCE
    ]
    assert {g.code for g in gifts} == {r["code"] for r in before["coupons"] + kept_before[
        "coupons"] if r["source"].startswith("birthday")}


def test_a_merged_coupon_source_fits_its_column() -> None:
    long = "exchange:" + "x" * 90
    assert len(merged_source(long, 123456)) == 96
    assert merged_source(long, 123456).endswith("#merged:123456")


# -- erase ---------------------------------------------------------------------------------------


async def _copies(app: App, needles: list[str], birthday: date) -> list[str]:
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


async def test_erase_leaves_no_copy_of_the_member_and_keeps_the_books(desk_app: App) -> None:
    app = desk_app
    fp = await _seed_footprint(app)
    assert len(await _copies(app, PERSONAL, BIRTHDAY)) > 10  # the scan sees the copies
    books = await _books(app, fp.member_id)
    other_books = await _books(app, fp.other_id)
    other_before = await _export(app, fp.other_id)

    async with app.engine.begin() as conn:
        changed = await erase_member(member_data_for(conn), fp.member_id)
    assert changed["members"] > 0 and changed["tickets"] > 0, changed

    assert await _copies(app, PERSONAL, BIRTHDAY) == []
    assert await _books(app, fp.member_id) == books
    assert await _books(app, fp.other_id) == other_books
    assert await _export(app, fp.other_id) == other_before
    async with app.engine.connect() as conn:
        erased = (await conn.execute(select(members).where(members.c.id == fp.member_id))).one()
        chats = await conn.scalar(select(func.count()).select_from(chat_users)
                                  .where(chat_users.c.member_id == fp.member_id))
    assert (erased.name, erased.phone, erased.birthday, erased.birthday_md) == (
        ERASED_NAME, None, None, None
    )
    assert erased.member_no == "1" and not erased.marketing_consent
    assert chats == 0
    # Whatever was waiting to be sent to them never will be.
    waiting = [r for r in (await _export(app, fp.member_id))["outbox"]
               if r["status"] in ("pending", "deferred")]
    assert waiting == []

    # A second erase finds nothing left to change in the member row, and breaks nothing.
    async with app.engine.begin() as conn:
        await erase_member(member_data_for(conn), fp.member_id)
    # The erased person writing again is a stranger, and the chat still works.
    replies = await say(app, "/points", user=MEMBER)
    assert replies
    other_replies = await say(app, "/points", user=OTHER_MEMBER)
    assert [r.key for r in other_replies] == ["points.summary"]


async def test_every_unit_of_work_carries_the_whole_footprint(desk_app: App) -> None:
    async with desk_app.uow_factory() as uow:
        assert [part.name for part in uow.member_data] == [part.name for part in MEMBER_DATA]
