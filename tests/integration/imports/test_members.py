"""Importing members.csv on SQLite and PostgreSQL: the stories an operator meets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from bot.bootstrap import App
from bot.cli.imports import import_file
from domain.members.services import set_marketing_consent
from storage.members.tables import members
from tests.support.imports import THREE_MEMBERS, add_stores, members_file, members_saved_as


async def _import(app: App, path: Path, strict: bool = False):
    return await import_file(app, "members", path, strict=strict, progress=False)


async def test_importing_the_same_members_twice_changes_nothing(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    path = members_file(tmp_path, *THREE_MEMBERS)
    first = await _import(any_app, path)
    assert (first.inserted, first.updated, first.duplicates, first.rejected) == (3, 0, 0, [])
    again = await _import(any_app, path)
    assert (again.inserted, again.updated, again.duplicates) == (0, 0, 3)
    assert "inserted                    0" in again.report()

    async with any_app.uow_factory() as uow:
        li = await uow.members.get_by_member_no("100001")
        han = await uow.members.get_by_phone("+8613900139000")
        jim = await uow.members.get_by_member_no("100003")
    assert li is not None and han is not None and jim is not None
    assert li.phone == "+8613800138000" and li.birthday == date(1990, 5, 17)
    assert li.joined_at == datetime(2024, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert li.marketing_consent is True
    assert han.member_no == "100002" and han.birthday is None and not han.marketing_consent
    assert jim.phone == "+8613700137000"  # Telegram-style number without a plus sign
    assert jim.joined_at == datetime(2025, 1, 15, 4, 0, tzinfo=UTC)  # 10:00 in Urumqi


async def test_imported_birthdays_are_indexed_by_month_and_day_for_the_birthday_job(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    await _import(any_app, members_file(tmp_path, *THREE_MEMBERS))
    async with any_app.engine.connect() as conn:
        rows = await conn.execute(
            select(members.c.member_no, members.c.birthday_md).order_by(members.c.member_no)
        )
        found = [tuple(row) for row in rows]
    assert found == [("100001", 517), ("100002", None), ("100003", 1201)]


async def test_a_changed_row_updates_the_member_and_only_that_one(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    await _import(any_app, members_file(tmp_path, *THREE_MEMBERS))
    changed = (
        THREE_MEMBERS[0].replace("Li Lei", "Li Lei (Ray)"),
        THREE_MEMBERS[1].replace(",SH01,", ",UR01,"),
        THREE_MEMBERS[2],
    )
    summary = await _import(any_app, members_file(tmp_path, *changed, name="members-2.csv"))
    assert (summary.inserted, summary.updated, summary.duplicates) == (0, 2, 1)
    async with any_app.uow_factory() as uow:
        li = await uow.members.get_by_member_no("100001")
        han = await uow.members.get_by_member_no("100002")
        urumqi = await uow.stores.get_by_code("UR01")
    assert li is not None and li.name == "Li Lei (Ray)"
    assert han is not None and urumqi is not None and han.home_store_id == urumqi.id


async def test_a_phone_already_belonging_to_another_member_is_rejected_naming_both(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    await _import(any_app, members_file(tmp_path, *THREE_MEMBERS))
    path = members_file(
        tmp_path,
        "100008,Lucy King,13600136000,,SH01,2026-01-01,no",
        "100009,Lily King,+86 139 0013 9000,,SH01,2026-01-01,no",
        name="new.csv",
    )
    summary = await _import(any_app, path)
    assert summary.inserted == 1
    assert [str(e) for e in summary.rejected] == [
        "line 3: phone **********9000 already belongs to member 100002 (row is member 100009)"
    ]
    assert "line 3: phone **********9000 already belongs to member 100002" in summary.report()
    assert not summary.failed  # the good row is in; the bad one is reported


async def test_strict_mode_refuses_the_whole_file_and_changes_nothing(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    path = members_file(
        tmp_path, *THREE_MEMBERS, "100004,Kate,13500135000,1999-02-30,SH01,,yes"
    )
    summary = await _import(any_app, path, strict=True)
    assert summary.failed and summary.rolled_back
    assert summary.inserted == 0
    assert [e.line for e in summary.rejected] == [5]
    async with any_app.uow_factory() as uow:
        assert await uow.members.count() == 0


async def test_without_strict_the_good_rows_are_imported_and_bad_ones_listed_by_line(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    path = members_file(
        tmp_path,
        THREE_MEMBERS[0],
        "100004,Kate,12345,,SH01,,yes",
        "",
        "100005,Tom,13500135000,,BJ01,,yes",
        "100006,Ann,13500135001,,SH01,,maybe",
        THREE_MEMBERS[1],
    )
    summary = await _import(any_app, path)
    assert summary.inserted == 2 and not summary.failed
    assert [(e.line, e.reason.split(" ")[0]) for e in summary.rejected] == [
        (3, "phone"), (5, "store_code"), (6, "marketing_consent")
    ]


async def test_a_file_saved_by_excel_with_a_byte_order_mark_imports(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    summary = await _import(any_app, members_file(tmp_path, *THREE_MEMBERS, bom=True))
    assert (summary.inserted, summary.rejected, summary.failed) == (3, [], False)


async def test_a_wrong_header_is_a_clear_error_on_line_1_and_imports_nothing(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    path = tmp_path / "members.csv"
    path.write_text("number,name,mobile\n100001,Li Lei,13800138000\n", encoding="utf-8")
    summary = await _import(any_app, path)
    assert summary.failed
    assert summary.fatal is not None and summary.fatal.startswith("line 1: ")
    assert "member_no" in summary.fatal
    async with any_app.uow_factory() as uow:
        assert await uow.members.count() == 0


async def test_a_gbk_file_from_a_chinese_till_is_read_as_gb18030_and_says_so(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    path = members_saved_as(
        tmp_path / "gbk.csv", ",", "gbk",
        "100001,Li Lei,13800138000,,SH01,,yes", "100002,韩梅梅,13900139000,,SH01,,no",
    )
    summary = await _import(any_app, path)
    assert summary.fatal is None and summary.inserted == 2
    assert "GB18030" in summary.report()
    async with any_app.uow_factory() as uow:
        member = await uow.members.get_by_member_no("100002")
    assert member is not None and member.name == "韩梅梅"


async def test_a_file_in_no_known_encoding_is_refused_before_anything_is_written(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    path = tmp_path / "latin.csv"
    text = "member_no,name,phone,birthday,store_code,joined_at,marketing_consent\n"
    path.write_bytes(text.encode() + b"100001,Li Lei,13800138000,,SH01,,yes\n" + b"\xff\xfe\xfd\n")
    summary = await _import(any_app, path)
    assert summary.fatal is not None and summary.fatal.startswith("line 3: ")
    assert "--encoding" in summary.fatal
    async with any_app.uow_factory() as uow:
        assert await uow.members.count() == 0


async def test_a_member_who_said_stop_is_not_opted_back_in_by_the_nightly_file(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    path = members_file(tmp_path, *THREE_MEMBERS)
    await _import(any_app, path)
    async with any_app.uow_factory() as uow:
        li = await uow.members.get_by_member_no("100001")
        assert li is not None and li.id is not None
        await set_marketing_consent(uow, li.id, False, any_app.clock.now())
        await uow.commit()
    again = await _import(any_app, path)
    assert (again.updated, again.duplicates) == (0, 3)
    async with any_app.uow_factory() as uow:
        li = await uow.members.get_by_member_no("100001")
    assert li is not None and li.marketing_consent is False and li.opted_out_at is not None


async def test_empty_fields_in_the_file_keep_what_the_member_told_the_chat(
    any_app: App, tmp_path: Path
) -> None:
    await add_stores(any_app)
    await _import(any_app, members_file(tmp_path, *THREE_MEMBERS))
    summary = await _import(
        any_app, members_file(tmp_path, "100001,Li Lei,,,,,", name="sparse.csv")
    )
    assert (summary.updated, summary.duplicates) == (0, 1)
    async with any_app.uow_factory() as uow:
        li = await uow.members.get_by_member_no("100001")
    assert li is not None and li.birthday == date(1990, 5, 17) and li.phone == "+8613800138000"
