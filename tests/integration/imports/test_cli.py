"""`retailbot import` and `retailbot demo` from the command line, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main
from tests.support.imports import THREE_MEMBERS, members_file


def test_a_members_file_with_a_wrong_header_fails_naming_line_1(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("no,name,mobile\n100001,Li Lei,13800138000\n", encoding="utf-8")
    code = main(["import", "members", str(bad), "--database", database])
    err = capsys.readouterr().err
    assert code != 0
    assert "line 1:" in err and "member_no" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_rows_are_listed_by_line_and_the_good_ones_imported(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = members_file(tmp_path, THREE_MEMBERS[0], "100004,Kate,12345,,SH01,,yes")
    code = main(["import", "members", str(path), "--database", database, "-q"])
    out = capsys.readouterr().out
    assert code == 3  # some rows rejected, the rest imported: a nightly cron notices
    assert "inserted                    1" in out
    assert "line 3: phone '*2345' is not a valid phone number" in out


def test_strict_import_of_a_file_with_a_bad_row_fails_and_says_which(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = members_file(tmp_path, THREE_MEMBERS[0], "100004,Kate,12345,,SH01,,yes")
    code = main(["import", "members", str(path), "--database", database, "--strict"])
    captured = capsys.readouterr()
    assert code != 0
    assert "line 3:" in captured.err and "--strict imported nothing" in captured.err
    assert "nothing was imported" in captured.out


def test_importing_a_file_twice_from_the_command_line_changes_nothing_the_second_time(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = members_file(tmp_path, *THREE_MEMBERS)
    assert main(["import", "members", str(path), "--database", database]) == 0
    capsys.readouterr()
    assert main(["import", "members", str(path), "--database", database]) == 0
    out = capsys.readouterr().out
    assert "inserted                    0" in out and "updated                     0" in out


def test_a_missing_file_is_a_one_line_error(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["import", "transactions", "nowhere.csv", "--database", database])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err


def test_demo_seeds_a_chain_and_says_what_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RETAILBOT_CONFIG", raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path}/demo.db"
    code = main(["demo", "--database", url, "--members", "40", "--no-chat", "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert "40 members added" in out and "SH01" in out and "UR01" in out
