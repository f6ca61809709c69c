"""What broke in the chain's files: exit codes a cron sees, unknown stores, GBK/UTF-16/tabs,
implausible receipts and phones, the chat's dates and yes/no, formulas, and --strict's lock."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import App
from bot.cli.imports import (
    EXIT_NOTHING_IMPORTED,
    EXIT_SOME_REJECTED,
    ImportSummary,
    import_file,
    write_csv,
)
from bot.cli.main import main
from handlers.types import Inbound, InboundKind
from tests.support.imports import (
    THREE_MEMBERS,
    add_stores,
    members_file,
    members_saved_as,
    transactions_file,
)


async def _members(app: App, path: Path, **options: Any) -> ImportSummary:
    return await import_file(app, "members", path, progress=False, strict=False, **options)


# -- exit codes -------------------------------------------------------------------------------


def test_an_import_whose_every_row_was_rejected_exits_non_zero_for_the_cron(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = members_file(tmp_path, "100004,Kate,12345,,SH01,,yes", "100005,Tom,1,,SH01,,no")
    assert main(["import", "members", str(path), "--database", database, "-q"]) == (
        EXIT_NOTHING_IMPORTED
    )


def test_exit_codes_tell_all_imported_from_some_rejected_from_nothing_imported(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = members_file(tmp_path, *THREE_MEMBERS, name="good.csv")
    assert main(["import", "members", str(good), "--database", database, "-q"]) == 0
    again = main(["import", "members", str(good), "--database", database, "-q"])
    assert again == 0  # already there is not a rejection
    mixed = members_file(tmp_path, "100006,Ann,13600136000,,SH01,,yes", "100007,Bo,12,,SH01,,",
                         name="mixed.csv")
    assert main(["import", "members", str(mixed), "--database", database, "-q"]) == (
        EXIT_SOME_REJECTED
    )
    strict = members_file(tmp_path, "100008,Cy,13500135000,,SH01,,", "100009,Di,12,,SH01,,",
                          name="strict.csv")
    code = main(["import", "members", str(strict), "--database", database, "-q", "--strict"])
    assert code == EXIT_NOTHING_IMPORTED


# -- unknown stores -------------------------------------------------------------------------


async def test_unknown_store_codes_are_named_once_with_how_to_add_them(
    app: App, tmp_path: Path
) -> None:
    await add_stores(app)
    rows = [f"1000{i:02d},M{i},1380013{i:04d},,BJ0{i % 2 + 1},," for i in range(20)]
    summary = await _members(app, members_file(tmp_path, *rows))
    report = summary.report()
    assert report.count("BJ01") == 1 and report.count("BJ02") == 1
    assert "retailbot store add" in report and "--create-stores" in report
    assert "line 2:" not in report  # no line per row


async def test_create_stores_adds_the_missing_codes_and_imports_their_rows(
    app: App, tmp_path: Path
) -> None:
    await add_stores(app)
    path = members_file(tmp_path, "100001,Li,13800138000,,bj01,,", "100002,Wu,13900139000,,BJ01,,")
    summary = await _members(app, path, create_stores=True)
    assert summary.inserted == 2 and summary.rejected == []
    async with app.uow_factory() as uow:
        store = await uow.stores.get_by_code("BJ01")
    assert store is not None and store.timezone == app.policy.timezone


# -- encodings and delimiters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "separator", "encoding", "rows", "detected"),
    [
        # Excel's "Unicode text": UTF-16 with its byte-order mark, separated by tabs
        ("unicode.txt", "\t", "utf-16", THREE_MEMBERS, "UTF-16 text, separated by tabs"),
        # a Chinese till's export
        ("pos.csv", ";", "gb18030", ("100001,韩梅梅,13800138000,,SH01,,是",),
         "GB18030 (GBK) text, separated by semicolons"),
    ],
)
async def test_the_encoding_and_separator_of_a_file_are_detected_and_reported(
    app: App,
    tmp_path: Path,
    name: str,
    separator: str,
    encoding: str,
    rows: tuple[str, ...],
    detected: str,
) -> None:
    await add_stores(app)
    summary = await _members(app, members_saved_as(tmp_path / name, separator, encoding, *rows))
    assert summary.inserted == len(rows), summary.report()
    assert detected in summary.report()


async def test_encoding_and_delimiter_can_be_named(app: App, tmp_path: Path) -> None:
    await add_stores(app)
    path = members_saved_as(
        tmp_path / "latin.csv", "|", "latin-1", "100001,Zoë,13800138000,,SH01,,"
    )
    summary = await _members(app, path, encoding="latin-1", delimiter="bar")
    assert summary.inserted == 1, summary.report()
    bad = await _members(app, path, encoding="klingon")
    assert "--encoding" in (bad.fatal or "")


# -- plausibility ---------------------------------------------------------------------------


async def _with_member(app: App, tmp_path: Path) -> None:
    await add_stores(app)
    await _members(app, members_file(tmp_path, THREE_MEMBERS[0], name="m.csv"))


async def test_a_receipt_above_the_policy_maximum_is_refused_with_the_reason(
    app: App, tmp_path: Path
) -> None:
    await _with_member(app, tmp_path)
    path = transactions_file(tmp_path, "SH01-1,SH01,100001,,2026-06-01T18:30,99999999.99,CNY,")
    summary = await import_file(app, "transactions", path, strict=False, progress=False)
    assert summary.points_earned == 0 and summary.inserted == 0
    assert "maximum per receipt" in summary.rejected[0].reason


async def test_a_receipt_dated_1970_is_refused_as_implausible(app: App, tmp_path: Path) -> None:
    await _with_member(app, tmp_path)
    path = transactions_file(tmp_path, "SH01-1,SH01,100001,,1970-01-01T00:00,10.00,CNY,")
    summary = await import_file(app, "transactions", path, strict=False, progress=False)
    assert summary.inserted == 0 and "older than the policy allows" in summary.rejected[0].reason


@pytest.mark.parametrize(
    ("phone", "why"),
    [("12345678901", "not a valid phone number for the chain's region CN"),
     ("13800138000;13900139000", "holds more than one phone number"),
     ("13800138000 / 13900139000", "holds more than one phone number")],
)
async def test_phones_foreign_to_the_region_or_doubled_are_refused_and_masked(
    app: App, tmp_path: Path, phone: str, why: str
) -> None:
    await add_stores(app)
    summary = await _members(app, members_file(tmp_path, f"100001,Li,{phone},,SH01,,"))
    (error,) = summary.rejected
    assert why in error.reason
    assert "13800138000" not in summary.report()


async def test_an_explicitly_international_phone_is_accepted(app: App, tmp_path: Path) -> None:
    await add_stores(app)
    summary = await _members(app, members_file(tmp_path, "100001,Li,+1 202 555 0143,,SH01,,"))
    assert summary.inserted == 1


async def test_a_reimported_receipt_that_differs_is_kept_and_warned_about(
    app: App, tmp_path: Path
) -> None:
    await _with_member(app, tmp_path)
    first = transactions_file(tmp_path, "SH01-1,SH01,100001,,2026-06-01T18:30,100.00,CNY,",
                              name="t1.csv")
    await import_file(app, "transactions", first, strict=False, progress=False)
    changed = transactions_file(tmp_path, "SH01-1,SH01,100001,,2026-06-01T18:30,120.00,CNY,",
                                name="t2.csv")
    summary = await import_file(app, "transactions", changed, strict=False, progress=False)
    assert summary.duplicates == 1 and summary.exit_code() == 0
    (warning,) = summary.warnings
    assert warning.line == 2 and "amount" in warning.reason and "100.00" in warning.reason
    assert "warnings" in summary.report()


# -- one reading of dates and yes/no --------------------------------------------------------


async def test_consent_as_shi_fou_and_birthdays_with_slashes_read_as_the_chat_reads_them(
    app: App, tmp_path: Path
) -> None:
    await add_stores(app)
    path = members_file(tmp_path, "100001,Li,13800138000,1990/05/31,SH01,,是",
                        "100002,Wu,13900139000,1991年2月3日,SH01,,否")
    summary = await _members(app, path)
    assert summary.rejected == [], summary.report()
    async with app.uow_factory() as uow:
        li = await uow.members.get_by_member_no("100001")
        wu = await uow.members.get_by_member_no("100002")
    assert li is not None and li.birthday is not None and li.birthday.isoformat() == "1990-05-31"
    assert li.marketing_consent is True
    assert wu is not None and wu.marketing_consent is False


# -- what is shown and written --------------------------------------------------------------


async def test_escape_codes_in_a_file_are_shown_not_obeyed_in_the_report(
    app: App, tmp_path: Path
) -> None:
    await add_stores(app)
    path = members_file(tmp_path, "100001,Li,13800138000,\x1b]0;owned\x07,SH01,,")
    summary = await _members(app, path)
    report = summary.report()
    assert "\x1b" not in report and "\x07" not in report and "\\x1b" in report


def test_cells_that_look_like_formulas_are_neutralised_in_every_csv_written() -> None:
    out = io.StringIO()
    write_csv(out, "members", [{"member_no": "1", "name": "=HYPERLINK(\"x\")",
                                "phone": "+8613800138000", "birthday": "@SUM(A1)",
                                "store_code": "-2+3", "joined_at": "", "marketing_consent": ""}])
    row = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert row[1] == "'=HYPERLINK(\"x\")" and row[3] == "'@SUM(A1)" and row[4] == "'-2+3"
    assert row[2] == "+8613800138000"  # a plain number stays a number


# -- --strict does not hold the write lock --------------------------------------------------


async def test_strict_checks_the_whole_file_first_and_writes_nothing_when_a_late_row_is_bad(
    app: App, tmp_path: Path
) -> None:
    await _with_member(app, tmp_path)
    rows = [f"SH01-{i},SH01,100001,,2026-06-01T18:30,10.00,CNY," for i in range(300)]
    rows.append("SH01-R,SH01,100001,,2026-06-02T18:30,-50.00,CNY,SH01-7")  # more than it was
    path = transactions_file(tmp_path, *rows)
    summary = await import_file(app, "transactions", path, strict=True, progress=False,
                                chunk_rows=50)
    assert summary.rolled_back and summary.exit_code() == EXIT_NOTHING_IMPORTED
    assert "exceeds" in summary.rejected[0].reason
    async with app.uow_factory() as uow:
        assert await uow.receipts.get("SH01-0") is None


async def test_the_chat_keeps_answering_while_a_strict_import_runs(
    app: App, tmp_path: Path
) -> None:
    await _with_member(app, tmp_path)
    rows = [f"SH01-{i},SH01,100001,,2026-06-01T18:30,10.00,CNY," for i in range(2000)]
    path = transactions_file(tmp_path, *rows)
    importing = asyncio.create_task(
        import_file(app, "transactions", path, strict=True, progress=False, chunk_rows=100)
    )
    answers = []
    for n in range(20):  # new people write while the file is checked and written
        inbound = Inbound("telegram", str(9000 + n), str(9000 + n), InboundKind.COMMAND,
                          command="start", language_code="en")
        answers += await app.conversation.handle(inbound)
        await asyncio.sleep(0)
    summary = await asyncio.wait_for(importing, 120)
    assert summary.inserted == 2000
    assert all(m.key != "error.unexpected" for m in answers)


def test_import_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    assert "3 some rows rejected" in capsys.readouterr().out

