"""The demo chain: made through the importer, the same every time for the same seed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from sqlalchemy import func, select

from bot.bootstrap import App, build_app
from bot.cli.main import main
from bot.config import Settings
from bot.demo import DEMO_NEW_PHONE, demo_member_phone, seed_demo
from domain.shared.clock import FixedClock
from storage.loyalty.tables import points_ledger, receipts
from storage.members.tables import members
from storage.messaging.tables import outbox

SMALL = 60  # enough members for every kind of shopper, quick on both databases


@asynccontextmanager
async def _app(url: str, clock: FixedClock) -> AsyncIterator[App]:
    app = await build_app(Settings(database_url=url), clock=clock)
    try:
        yield app
    finally:
        await app.close()


async def _snapshot(app: App) -> dict[str, Any]:
    async with app.engine.connect() as conn:
        people = [
            tuple(row)
            for row in await conn.execute(
                select(
                    members.c.member_no,
                    members.c.name,
                    members.c.phone,
                    members.c.birthday,
                    members.c.marketing_consent,
                    members.c.tier,
                    members.c.spend_12m_cents,
                ).order_by(members.c.member_no)
            )
        ]
        totals = (
            await conn.execute(
                select(
                    func.count(),
                    func.sum(receipts.c.amount_cents),
                    func.sum(receipts.c.points),
                    func.count().filter(receipts.c.amount_cents < 0),
                )
            )
        ).one()
        points = await conn.scalar(select(func.sum(points_ledger.c.points)))
    return {"members": people, "receipts": tuple(totals), "points": points}


async def test_the_same_seed_gives_the_same_chain_on_any_database(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    async with _app(database_url, clock) as first:
        summary = await seed_demo(first, members=SMALL, seed=7, progress=False, life=False)
        one = await _snapshot(first)
    async with _app(f"sqlite+aiosqlite:///{tmp_path}/again.db", clock) as second:
        await seed_demo(second, members=SMALL, seed=7, progress=False, life=False)
        two = await _snapshot(second)
    assert one == two
    assert len(one["members"]) == SMALL
    count, _, _, refunds = one["receipts"]
    assert count > SMALL * 5 and refunds >= 0
    assert "rejected" not in summary  # every generated row passes the importer's checks
    assert f"{SMALL} members added" in summary


async def test_another_seed_gives_another_chain_next_to_the_first(
    app: App,
) -> None:
    await seed_demo(app, members=SMALL, seed=7, progress=False, life=False)
    before = await _snapshot(app)
    await seed_demo(app, members=SMALL, seed=8, progress=False, life=False)
    after = await _snapshot(app)
    assert len(after["members"]) == 2 * SMALL
    assert after["receipts"][0] > before["receipts"][0]


async def test_seeding_again_with_the_same_seed_adds_nothing(app: App) -> None:
    await seed_demo(app, members=SMALL, seed=7, progress=False, life=False)
    before = await _snapshot(app)
    summary = await seed_demo(app, members=SMALL, seed=7, progress=False, life=False)
    assert await _snapshot(app) == before
    assert "0 members added" in summary and "0 receipts" in summary


async def test_the_demo_chain_has_two_stores_in_different_time_zones_and_real_phones(
    app: App,
) -> None:
    await seed_demo(app, members=SMALL, seed=7, progress=False, life=False)
    async with app.uow_factory() as uow:
        stores = await uow.stores.list()
        assert await uow.members.get_by_phone(DEMO_NEW_PHONE) is None
    assert len({s.timezone for s in stores}) == 2
    phones = [row[2] for row in (await _snapshot(app))["members"]]
    assert len(set(phones)) == SMALL
    for phone in [*phones, DEMO_NEW_PHONE]:
        parsed = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(parsed) and parsed.country_code == 86


async def test_the_demo_member_to_chat_as_has_receipts_and_is_always_the_same(app: App) -> None:
    assert await demo_member_phone(app) is None
    await seed_demo(app, members=SMALL, seed=7, progress=False, life=False)
    phone = await demo_member_phone(app)
    assert phone is not None and phone == await demo_member_phone(app)
    async with app.uow_factory() as uow:
        member = await uow.members.get_by_phone(phone)
        assert member is not None and member.id is not None
        assert await uow.receipts.recent_for_member(member.id, 1)
        assert await uow.ledger.balance(member.id) > 0


async def test_the_same_seed_gives_the_same_chain_at_any_hour_of_the_day(tmp_path: Path) -> None:
    """Regression: the chain followed the running clock, so a demo seeded at 9:00 and one seeded
    at 16:00 the same day differed (the generator's draws depend on the span it covers); later,
    its points and tiers still did (the import counted from the running clock, not from the
    demo's midnight), and a big chain's members imported after the year most of all."""
    from datetime import UTC, datetime

    snapshots = []
    for hour in (1, 8, 15):  # 09:00, 16:00 and 23:00 in Shanghai, all on 15 June
        clock = FixedClock(datetime(2026, 6, 15, hour, 30, tzinfo=UTC))
        async with _app(f"sqlite+aiosqlite:///{tmp_path}/h{hour}.db", clock) as app:
            await seed_demo(app, members=SMALL, seed=7, progress=False, life=False)
            snapshots.append(await _snapshot(app))
    assert snapshots[0] == snapshots[1] == snapshots[2]


# --- a year of the chain's life ------------------------------------------------------------

LIVED = 150  # enough chat members for both stores every month, quick enough for one test
SEEDED_ON = (2026, 6, 15, 10, 0)  # the demo's "today": 15 June 2026, 18:00 SH


def _colours(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(found or [])


def _month_rows(report: str, store: str) -> dict[str, tuple[str, str]]:
    """`store month ... CSAT NPS` rows of the survey report's first table."""
    rows: dict[str, tuple[str, str]] = {}
    for line in report.split("By store\n")[0].splitlines():
        cells = line.split()
        if len(cells) == 8 and cells[0] == store:
            rows[cells[1]] = (cells[6], cells[7])
    return rows


def test_a_year_of_the_demo_chain_fills_every_report_chart_and_queue(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After `retailbot demo` a person evaluating the product sees every part of it at work:
    surveys by store and month with one bad month, a campaign that worked with its interval,
    one that did not, a draft to preview, callbacks, segments, and tickets waiting at the desk.
    """
    import asyncio
    from datetime import UTC, datetime

    database = database_url
    # Groups of a 150-member demo are smaller than a chain's: the policy says when to conclude.
    config = tmp_path / "retailbot.toml"
    config.write_text("[campaigns]\nmin_group_size = 20\n", encoding="utf-8")
    clock = FixedClock(datetime(*SEEDED_ON, tzinfo=UTC))

    async def seed() -> tuple[str, int]:
        app = await build_app(Settings(database_url=database, config_path=config), clock=clock)
        try:
            summary = await seed_demo(app, members=LIVED, seed=42, progress=False)
            async with app.engine.connect() as conn:
                waiting = await conn.scalar(
                    select(func.count()).where(outbox.c.status.in_(["pending", "deferred"]))
                )
            return summary, int(waiting or 0)
        finally:
            await app.close()

    summary, waiting = asyncio.run(seed())
    assert waiting == 0  # the year's messages went out in the past: a real bot sends none
    assert "refused" not in summary  # every step of the year was one the product accepts
    assert "Staff to log in as" in summary and "admin 9100001" in summary
    common = ["--database", database, "--config", str(config)]
    charts = tmp_path / "charts"

    # Surveys: CSAT and NPS for both stores month by month; UR01's bad month stands out.
    assert main(["report", "surveys", "--from", "2025-07-01", "--to", "2026-06-14",
                 "--png", str(charts), *common]) == 0
    report = capsys.readouterr().out
    for store in ("SH01", "UR01"):
        rows = _month_rows(report, store)
        full = [m for m, (csat, nps) in rows.items() if csat != "—" and nps != "—"]
        assert len(full) >= 8, (store, rows)
    ur01 = {m: int(nps) for m, (_csat, nps) in _month_rows(report, "UR01").items() if nps != "—"}
    assert ur01["2026-02"] == min(ur01.values())  # four months before June: the bad month
    for name in ("csat_by_store.png", "nps_trend.png", "score_distribution.png"):
        assert (charts / name).stat().st_size > 5_000 and _colours(charts / name) > 2

    # Campaigns: the first worked (a positive uplift with its interval), the second did not,
    # the third is a draft whose preview shows who would get it.
    assert main(["campaign", "report", "1", "--png", str(charts), *common]) == 0
    first = capsys.readouterr().out
    assert "treated:" in first and "control:" in first and "95% interval" in first
    assert "too small to conclude" not in first
    assert "uplift in purchase rate: +" in first
    assert main(["campaign", "report", "2", *common]) == 0
    assert "uplift in purchase rate: +" not in capsys.readouterr().out
    assert main(["campaign", "preview", "3", *common]) == 0
    assert "will get it" in capsys.readouterr().out

    # Callbacks done with outcomes, and some still due.
    assert main(["report", "callbacks", "--from", "2025-07-01", "--to", "2026-06-14",
                 "--png", str(charts), *common]) == 0
    calls = capsys.readouterr().out
    assert "all_good" in calls and "By staff member" in calls

    # Segments refreshed, with their chart.
    assert main(["segments", "show", "--png", str(charts), *common]) == 0
    assert "Champions" in capsys.readouterr().out
    pngs = sorted(charts.glob("*.png"))
    assert len(pngs) >= 6
    for path in pngs:
        assert path.stat().st_size > 2_000 and _colours(path) > 2, path.name

    # The desk: the last days' tickets wait in the admin's queue.
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("/queue\n:quit\n"))
    assert main(["chat", "--staff", "--as", "9100001", *common]) == 0
    desk = capsys.readouterr().out
    assert "No active tickets" not in desk and "T-" in desk


def test_the_same_seed_lives_the_same_year(tmp_path: Path) -> None:
    """The year is drawn from the seed and played from the chain's midnight: two seedings on
    the same day, at different hours, tell the same story."""
    import asyncio
    from datetime import UTC, datetime

    async def seed(name: str, hour: int) -> str:
        clock = FixedClock(datetime(2026, 6, 15, hour, 0, tzinfo=UTC))
        async with _app(f"sqlite+aiosqlite:///{tmp_path}/{name}.db", clock) as app:
            return await seed_demo(app, members=40, seed=3, progress=False)

    first = asyncio.run(seed("one", 2))
    again = asyncio.run(seed("two", 14))
    assert "A year of its life" in first
    # The tier counts follow the running clock (spend of the last 12 months); the year not.
    assert first.split("\n\n")[1] == again.split("\n\n")[1]


def test_a_big_chain_lives_its_year_on_a_sample_and_the_rest_joins_before_the_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big demo plays the year for its first members only (the stories), then imports the
    others with their receipts before the last segments refresh: the chain is the same as
    without the year, and the segments cover every member."""
    import asyncio
    from datetime import UTC, datetime

    from storage.members.tables import chat_users
    from storage.segments.tables import member_segments

    monkeypatch.setattr("bot.demo.LIFE_SAMPLE", 25)
    clock = FixedClock(datetime(*SEEDED_ON, tzinfo=UTC))

    async def seed(name: str, life: bool) -> tuple[str, dict[str, Any], set[str], int]:
        async with _app(f"sqlite+aiosqlite:///{tmp_path}/{name}.db", clock) as app:
            summary = await seed_demo(app, members=40, seed=5, progress=False, life=life)
            snapshot = await _snapshot(app)
            async with app.engine.connect() as conn:
                # The generated receipts, row by row (the campaign's come-back ones aside):
                # with the year, the others' are drawn by a second process; without, here.
                snapshot["generated"] = [tuple(row) for row in await conn.execute(
                    select(receipts.c.receipt_no, members.c.member_no, receipts.c.occurred_at,
                           receipts.c.amount_cents, receipts.c.original_receipt_no)
                    .join(members, members.c.id == receipts.c.member_id)
                    .where(~receipts.c.receipt_no.contains("-C"))
                    .order_by(receipts.c.receipt_no)
                )]
                linked = set((await conn.execute(
                    select(members.c.member_no).join(
                        chat_users, chat_users.c.member_id == members.c.id)
                )).scalars())
                segmented = await conn.scalar(select(func.count()).select_from(member_segments))
        return summary, snapshot, linked, int(segmented or 0)

    summary, lived, linked, segmented = asyncio.run(seed("lived", True))
    _, plain, _, _ = asyncio.run(seed("plain", False))
    assert "40 members added" in summary and "A year of its life" in summary
    assert linked and max(linked) <= "500025"  # only the sample lived the year in the chat
    assert segmented == 40  # the last refresh saw every member, the sample and the rest
    assert [p[:5] for p in lived["members"]] == [p[:5] for p in plain["members"]]
    # Every generated receipt is there; the year only added the campaign's come-back ones.
    assert lived["receipts"][0] >= plain["receipts"][0]
    assert lived["receipts"][3] == plain["receipts"][3]  # the same refunds
    assert lived["generated"] == plain["generated"]
    assert any(no > "500025" for _, no, *_ in lived["generated"])  # the rest's are there


def test_a_second_process_that_fails_fails_the_demo_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The receipts of the members who do not live the year come from a second process: if it
    cannot give them, `retailbot demo` says why and exits non-zero instead of a chain without
    them."""
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'MemoryError: out of memory' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr("bot.demo.LIFE_SAMPLE", 25)
    monkeypatch.setattr("sys.executable", str(broken))
    code = main(["demo", "--database", f"sqlite+aiosqlite:///{tmp_path}/demo.db",
                 "--members", "40", "--no-chat", "-q"])
    assert code != 0
    err = capsys.readouterr().err
    assert "drawing the receipts in a second process failed: MemoryError: out of memory" in err
