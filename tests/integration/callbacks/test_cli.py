"""A store without Telegram on the floor: the call list as CSV and its outcomes back, line by
line; the callbacks report with its observational repurchase comparison; the weekly line."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.bootstrap import App, build_app
from bot.cli.callbacks import COLUMNS
from bot.cli.main import main
from bot.config import Settings
from domain.callbacks.digest import queue_weekly_line
from domain.callbacks.model import Outcome
from domain.callbacks.services import record_call
from domain.callbacks.views import callback_report
from domain.loyalty.model import Receipt
from domain.shared.clock import FixedClock
from tests.support.callbacks import all_callbacks, complaint_calls, log_rows
from tests.support.cli import seeded_database
from tests.support.coupons import add_member
from tests.support.tickets import STAFF_GROUP, clock, outbox_to, seed_desk

T0 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Three calls due at the Shanghai store, one at New York."""

    async def seed(app: App) -> None:
        desk = await seed_desk(app)
        third = await add_member(app, "3", store=desk.shop.shanghai)
        far = await add_member(app, "4", store=desk.shop.new_york)
        ids = [m.id for m in (desk.member, desk.other, third) if m.id is not None]
        await complaint_calls(app, ids, desk.shop.shanghai.id)
        assert far.id is not None
        await complaint_calls(app, [far.id], desk.shop.new_york.id)

    return seeded_database(tmp_path, monkeypatch, seed, name="callbacks.db", clock=FixedClock(T0))


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as found:
        return list(csv.reader(found))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(rows)


def test_the_call_list_goes_out_as_csv_and_comes_back_line_by_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "calls.csv"
    assert main(["callbacks", "export", "--store", "SH01", str(sheet),
                 "--database", database]) == 0
    header, *rows = _read(sheet)
    assert tuple(header) == COLUMNS and [r[0] for r in rows] == ["C-1", "C-2", "C-3"]
    phone = header.index("phone")
    assert all(r[phone].startswith("+86") for r in rows)  # a plain number, no formula
    capsys.readouterr()

    outcome, note, again = (header.index(c) for c in ("outcome", "note", "call_again_at"))
    rows[0][outcome], rows[0][note] = "all_good", "=happy again"
    rows[1][outcome] = "maybe"  # line 3: no such outcome
    rows[2][outcome], rows[2][again] = "call_again", "after lunch"  # line 4: no time
    rows.append(["C-99", "", "", "", "", "", "", "", "all_good", "", "", ""])  # line 5
    rows.append(["C-2", "", "", "", "", "", "", "", "", "", "", ""])  # not called: left open
    _write(sheet, [header, *rows])
    assert main(["callbacks", "record", str(sheet), "--database", database]) == 3  # some bad
    out, err = capsys.readouterr()
    assert "1 outcome(s) recorded, 1 line(s) without an outcome left open, 3 rejected" in out
    assert [line.split(" ")[2] for line in err.strip().splitlines()] == ["line", "line", "line"]
    assert "line 3: outcome must be one of" in err and "line 4: call_again_at" in err
    assert "line 5: there is no callback 99" in err

    # Recording the same file again records nothing twice (and says so with its exit status).
    assert main(["callbacks", "record", str(sheet), "--database", database]) == 1
    assert "line 2: C-1 is closed" in capsys.readouterr().err

    async def check() -> None:
        app = await build_app(Settings(database_url=database), clock=FixedClock(T0))
        try:
            first, *others = await all_callbacks(app)
            (entry,) = await log_rows(app)
        finally:
            await app.close()
        assert first.outcome is Outcome.ALL_GOOD and all(c.is_open for c in others)
        assert (entry.actor, entry.note) == ("cli", "=happy again")

    asyncio.run(check())


def test_exporting_names_a_store_that_exists(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["callbacks", "export", "--store", "XX9", str(tmp_path / "x.csv"),
                 "--database", database]) == 2
    assert "there is no store 'XX9'" in capsys.readouterr().err
    assert main(["callbacks", "record", str(tmp_path / "missing.csv"),
                 "--database", database]) == 2


def test_the_report_counts_outcomes_and_writes_its_chart(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "calls.csv"
    main(["callbacks", "export", "--store", "SH01", str(sheet), "--database", database])
    header, *rows = _read(sheet)
    rows[0][header.index("outcome")] = "problem"
    rows[1][header.index("outcome")] = "wrong_number"
    _write(sheet, [header, *rows])
    assert main(["callbacks", "record", str(sheet), "--database", database]) == 0
    capsys.readouterr()
    charts = tmp_path / "charts"
    assert main(["report", "callbacks", "--from", "2026-06-01", "--to", "2026-06-30",
                 "--database", database, "--png", str(charts)]) == 0
    out = capsys.readouterr().out
    assert "due 4  done 2" in out and "reach rate 50% (1 of 2 closed)" in out
    assert "problems found (tickets opened) 1" in out
    assert "complaint    problem 1, wrong_number 1" in out
    assert "OBSERVATIONAL comparison" in out
    assert (charts / "callbacks_outcomes.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["report", "callbacks", "--store", "SH01", "--from", "2026-06-01",
                 "--to", "2026-06-30", "--database", database]) == 0
    assert "due 3" in capsys.readouterr().out
    assert main(["report", "callbacks", "--from", "2026-07-01", "--to", "2026-06-01",
                 "--database", database]) == 2


async def test_members_reached_and_not_reached_are_compared_on_buying_again(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    extra = [await add_member(app, str(n), store=desk.shop.shanghai) for n in (3, 4)]
    ids = [m.id for m in (desk.member, desk.other, *extra) if m.id is not None]
    calls = await complaint_calls(app, ids, desk.shop.shanghai.id)
    async with app.uow_factory() as uow:
        for call, outcome in zip(calls, (Outcome.ALL_GOOD, Outcome.ALL_GOOD,
                                         Outcome.WRONG_NUMBER, Outcome.DO_NOT_CALL),
                                 strict=True):
            await record_call(uow, app.policy, call, desk.manager, outcome, app.clock.now())
        # The first member bought again within 30 days, the one with the wrong number too.
        for member_id, days in ((ids[0], 10), (ids[2], 40)):
            await uow.receipts.add_many([Receipt(
                f"R-{member_id}", 1, member_id, app.clock.now() + timedelta(days=days),
                Decimal("20.00"), "CNY")])
        await uow.commit()
    clock(app).advance(timedelta(days=29))
    async with app.uow_factory() as uow:
        early = await callback_report(uow, app.policy, date(2026, 6, 1), date(2026, 6, 30),
                                      None, app.clock.now())
    assert early.repurchase == {}  # the 30 days are not over yet
    clock(app).advance(timedelta(days=2))
    async with app.uow_factory() as uow:
        report = await callback_report(uow, app.policy, date(2026, 6, 1), date(2026, 6, 30),
                                       None, app.clock.now())
    figures = report.repurchase["complaint"]
    assert (figures.reached, figures.reached_bought) == (3, 1)
    assert (figures.not_reached, figures.not_reached_bought) == (1, 0)  # bought on day 40
    assert report.reach_rate == 0.75 and report.by_staff["Chen"]["all_good"] == 2


async def test_the_weekly_digest_gets_a_callbacks_line_once(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    assert desk.member.id is not None
    await complaint_calls(app, [desk.member.id], desk.shop.shanghai.id)
    monday = datetime(2026, 6, 22, 1, 35, tzinfo=UTC)  # 09:35 in Shanghai
    clock(app).set(monday)
    for _ in range(2):
        async with app.uow_factory() as uow:
            await queue_weekly_line(uow, app.policy, str(STAFF_GROUP), monday)
            await uow.commit()
    (line,) = [r for r in await outbox_to(app, STAFF_GROUP)
               if r.message_key == "callbacks.weekly"]
    assert line.dedupe_key == "callbacks:weekly:2026-W25"
    assert (line.params["due"], line.params["done"], line.params["overdue"]) == (1, 0, 1)
