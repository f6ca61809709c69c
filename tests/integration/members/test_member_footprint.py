"""A member's footprint, in one place: every table naming a member is declared by some feature's
MemberData, and on a real database a member's rows in every feature are exported, moved to
another member, and erased without leaving a copy of who they are or what they wrote."""

from __future__ import annotations

import json

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, func, select

from bot.bootstrap import App
from domain.shared.member_data import (
    ERASED_NAME,
    Export,
    erase_member,
    export_member,
    reassign_member,
)
from storage.coupons.member_data import merged_source
from storage.coupons.tables import coupons
from storage.member_data import (
    MEMBER_DATA,
    declared_columns,
    member_columns,
    member_data_for,
    uncovered_columns,
)
from storage.members.tables import chat_users, members
from storage.metadata import register_all_tables
from storage.tickets.tables import ticket_messages
from tests.support.conversation import MEMBER, say
from tests.support.footprint import (
    BIRTHDAY,
    BIRTHDAY_SOURCE,
    COMMENT,
    DESCRIPTION,
    FOLLOW_UP,
    NAME,
    PERSONAL,
    PHONE,
    STAFF_ANSWER,
    copies_of,
    member_books,
    seed_footprint,
)
from tests.support.tickets import OTHER_MEMBER

# Tables keyed by the member (a summary per member): a merge adds them up, it does not move rows.
PER_MEMBER_SUMMARIES = {"member_stats", "member_segments", "member_consents",
                        "points_summaries"}



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


# -- export ------------------------------------------------------------------------------------
# The member with rows in every feature is seeded by tests.support.footprint; `desk_app` is the
# integration tests' fixture.


async def _export(app: App, member_id: int) -> Export:
    async with app.engine.connect() as conn:
        return await export_member(member_data_for(conn), member_id)


async def test_export_holds_the_members_rows_of_every_declared_table(desk_app: App) -> None:
    app = desk_app
    fp = await seed_footprint(app)
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
    fp = await seed_footprint(app)
    before = await _export(app, fp.member_id)
    kept_before = await _export(app, fp.other_id)
    books = await member_books(app, fp.member_id)
    kept_books = await member_books(app, fp.other_id)

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

    merged = await member_books(app, fp.other_id)
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


async def test_erase_leaves_no_copy_of_the_member_and_keeps_the_books(desk_app: App) -> None:
    app = desk_app
    fp = await seed_footprint(app)
    assert len(await copies_of(app, PERSONAL, BIRTHDAY)) > 10  # the scan sees the copies
    books = await member_books(app, fp.member_id)
    other_books = await member_books(app, fp.other_id)
    other_before = await _export(app, fp.other_id)

    async with app.engine.begin() as conn:
        changed = await erase_member(member_data_for(conn), fp.member_id)
    assert changed["members"] > 0 and changed["tickets"] > 0, changed

    assert await copies_of(app, PERSONAL, BIRTHDAY) == []
    assert await member_books(app, fp.member_id) == books
    assert await member_books(app, fp.other_id) == other_books
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
