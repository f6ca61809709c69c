"""`retailbot segments refresh|show|export` on a SQLite file."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from bot.bootstrap import build_app
from bot.cli.main import main
from bot.config import Settings
from tests.support.coupons import add_member, seed_stores
from tests.support.segments import shop


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Three members: a regular, a one-off shopper and one who never bought (member no. '=1+1'
    is what a careless till export might hold)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RETAILBOT_CONFIG", raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"

    async def prepare() -> None:
        app = await build_app(Settings(database_url=url))
        shops = await seed_stores(app)
        regular = await add_member(app, "1")
        once = await add_member(app, "2")
        await add_member(app, "3")
        assert regular.id is not None and once.id is not None
        for days in (50, 35, 20, 6):
            await shop(app, regular.id, shops.shanghai, days, "120.00")
        await shop(app, once.id, shops.new_york, 100, "35.00")
        async with app.uow_factory() as uow:
            member = await uow.members.get(once.id)
            assert member is not None
            member.member_no = "=1+1"
            await uow.members.update(member)
            await uow.commit()
        await app.close()

    asyncio.run(prepare())
    return url


def test_refresh_show_and_export_tell_the_same_story(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["segments", "refresh", "--database", database]) == 0
    out = capsys.readouterr().out
    assert "3 members, 2 with a purchase in the window" in out
    assert "too little data to fit BG/NBD" in out

    assert main(["segments", "show", "--database", database, "--png", str(tmp_path / "png")]) == 0
    out = capsys.readouterr().out
    assert "Segments" in out and "Lifecycle" in out and "prospect" in out
    for name in ("segment_sizes.png", "rf_grid.png"):
        assert (tmp_path / "png" / name).read_bytes().startswith(b"\x89PNG")

    assert main(["segments", "show", "--database", database, "--member", "1"]) == 0
    out = capsys.readouterr().out
    assert "lifecycle: active" in out and "frequency: 4" in out and "monetary: 480.00" in out

    target = tmp_path / "segments.csv"
    assert main(["segments", "export", str(target), "--database", database]) == 0
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "member_no", "recency_days", "frequency", "monetary", "r", "f", "m", "segment",
        "lifecycle", "p_alive", "expected_purchases_90d",
    ]
    by_no = {row["member_no"]: row for row in rows}
    assert by_no["1"]["recency_days"] == "6" and by_no["1"]["lifecycle"] == "active"
    assert by_no["'=1+1"]["frequency"] == "1"  # a formula-like cell is neutralised
    assert by_no["3"]["lifecycle"] == "prospect" and by_no["3"]["segment"] == ""


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["segments", "show"], "never refreshed"),
        (["segments", "export", "out.csv"], "never refreshed"),
        (["segments", "export", "no/such/folder/out.csv"], "does not exist"),
    ],
)
def test_commands_that_cannot_do_what_was_asked_exit_non_zero_with_one_line(
    database: str, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    assert main([*args, "--database", database]) == 2
    err = capsys.readouterr().err
    assert reason in err and err.count("\n") == 1


def test_show_member_names_what_is_wrong(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["segments", "refresh", "--database", database]) == 0
    capsys.readouterr()
    assert main(["segments", "show", "--member", "999", "--database", database]) == 2
    assert "there is no member '999'" in capsys.readouterr().err
