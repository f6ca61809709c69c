"""The survey report counted by the database, the weekly summary for the staff group, and the
`surveys invite` and `report surveys` commands."""

from __future__ import annotations

import io
import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.bootstrap import App
from bot.cli.main import main
from domain.members.model import Store
from domain.shared.clock import local_day
from domain.surveys.model import SurveyAnswer, SurveyInvitation, SurveyKind, Trigger
from domain.surveys.services import survey_report
from scheduler.jobs.surveys import survey_weekly_summary
from tests.support.cli import seeded_database
from tests.support.coupons import add_member, outbox_rows, seed_stores
from tests.support.jobs import run_as_scheduled

STAFF_GROUP = "-1001234567890"
TZ = "Asia/Shanghai"
KEYS = itertools.count(1)


async def _answer(
    app: App,
    member_id: int,
    store: Store | None,
    at: datetime,
    kind: SurveyKind,
    score: int | None,
    *,
    comment: str | None = None,
    category: str = "purchase",
) -> None:
    """An invitation made at `at`, answered at once with `score` (None: never answered)."""
    async with app.uow_factory() as uow:
        key = f"test:{next(KEYS)}"
        invitation = await uow.surveys.add_invitation(
            SurveyInvitation(
                member_id=member_id, survey_key=kind.value, kind=kind, trigger=Trigger.RECEIPT,
                trigger_ref=key, dedupe_key=key, token="abcdef", created_at=at,
                expires_at=at + timedelta(days=7), day=local_day(at, TZ),
                store_id=store.id if store else None, category=category,
            )
        )
        assert invitation is not None and invitation.id is not None
        if score is not None:
            assert await uow.surveys.mark_answered(invitation.id, at)
            await uow.surveys.add_answer(
                SurveyAnswer(
                    invitation_id=invitation.id, member_id=member_id, survey_key=kind.value,
                    kind=kind, score=score, trigger=Trigger.RECEIPT, trigger_ref="R",
                    category=category, answered_at=at, day=local_day(at, TZ),
                    store_id=store.id if store else None, comment=comment,
                )
            )
        await uow.commit()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_the_database_counts_by_store_and_local_month(any_app: App) -> None:
    app = any_app
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=501)
    assert member.id is not None
    sh, ny = shop.shanghai, shop.new_york
    csat, nps = SurveyKind.CSAT, SurveyKind.NPS
    # 31 May 17:30 UTC is 1 June in Shanghai: a June answer.
    for at, store, kind, score in [
        ("2026-05-10 03:00", sh, csat, 5),
        ("2026-05-11 03:00", sh, csat, 4),
        ("2026-05-12 03:00", sh, csat, 1),
        ("2026-05-13 03:00", sh, csat, None),
        ("2026-05-31 17:30", sh, nps, 10),
        ("2026-06-02 03:00", sh, nps, 9),
        ("2026-06-03 03:00", sh, nps, 3),
        ("2026-06-04 03:00", ny, csat, 2),
        ("2026-06-05 03:00", ny, csat, None),
        ("2026-04-30 03:00", sh, csat, 1),  # before the period
    ]:
        await _answer(app, member.id, store, utc(at), kind, score)

    async with app.uow_factory() as uow:
        report = await survey_report(uow, app.policy, date(2026, 5, 1), date(2026, 6, 30))
        only_ny = await survey_report(uow, app.policy, date(2026, 5, 1), date(2026, 6, 30),
                                      "ny01")
    may, june = report.cells[("SH01", "2026-05")], report.cells[("SH01", "2026-06")]
    assert may.csat_percent == pytest.approx(200 / 3) and may.invited == 4
    assert may.response_rate == pytest.approx(75.0)
    assert june.nps == pytest.approx(100 / 3) and june.answers == 3  # (2 - 1) / 3
    assert report.cells[("NY01", "2026-06")].response_rate == 50.0
    assert report.by_store["NY01"].csat_percent == 0.0
    assert report.total.answers == 7 and report.total.invited == 9
    assert report.distribution[SurveyKind.CSAT] == {1: 1, 2: 1, 3: 0, 4: 1, 5: 1}
    assert set(only_ny.by_store) == {"NY01"} and only_ny.total.answers == 1


async def test_the_weekly_summary_posts_figures_chart_and_lowest_comments(app: App) -> None:
    deps = app.conversation.deps
    deps.desk = replace(deps.desk, staff_chat_id=STAFF_GROUP)
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=501)
    assert member.id is not None
    # The clock says Monday 15 June 2026, 18:00 in Shanghai: last week is 8-14 June.
    for at, kind, score, comment in [
        ("2026-06-08 03:00", SurveyKind.CSAT, 5, "Lovely bakery"),
        ("2026-06-09 03:00", SurveyKind.NPS, 2, "Prices went up again"),
        ("2026-06-10 03:00", SurveyKind.CSAT, 1, "Rude at the fish counter"),
        ("2026-06-11 03:00", SurveyKind.NPS, 8, None),
        ("2026-06-15 03:00", SurveyKind.CSAT, 1, "This week, not last week"),
    ]:
        await _answer(app, member.id, shop.shanghai, utc(at), kind, score, comment=comment)

    result = await run_as_scheduled(app, survey_weekly_summary)
    again = await run_as_scheduled(app, survey_weekly_summary)
    assert "4 answers" in result and "queued before" in again
    (row,) = [r for r in await outbox_rows(app) if r.chat_id == STAFF_GROUP]
    assert row.dedupe_key == "survey:weekly:2026-W24" and row.message_key == "surveys.weekly"
    assert row.params["week_from"] == "2026-06-08" and row.params["answers"] == 4
    assert row.params["csat"] == "50.0 %" and row.params["nps"] == "-50"
    lines = row.params["comments"].splitlines()
    assert "Rude" in lines[0] and "Prices" in lines[1] and "Lovely" in lines[2]
    assert "This week" not in row.params["comments"]
    assert row.photo.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(row.photo)) as picture:
        assert picture.info["Title"] == "NPS by month, 2026-01 to 2026-06"
    text = app.translator("en", row.message_key, **row.params)
    assert len(text) <= 1024  # it goes as the photo's caption


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file with two stores and three members with chats, one of them gold."""

    async def seed(app: App) -> None:
        shop = await seed_stores(app)
        await add_member(app, "1", store=shop.shanghai, chat=501)
        await add_member(app, "2", store=shop.new_york, chat=502)
        gold = await add_member(app, "3", store=shop.new_york, chat=503)
        gold.tier = "gold"
        async with app.uow_factory() as uow:
            await uow.members.update(gold)
            await uow.commit()
        assert gold.id is not None
        await _answer(app, gold.id, shop.new_york, utc("2026-06-02 03:00"), SurveyKind.NPS, 9)

    return seeded_database(tmp_path, monkeypatch, seed)


def test_surveys_invite_by_tier_store_and_file(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["surveys", "invite", "--survey", "nps", "--tier", "gold",
                 "--database", database, "--dry-run"]) == 0
    assert "would invite nps to tier gold" in capsys.readouterr().out
    assert main(["surveys", "invite", "--survey", "nps", "--tier", "gold",
                 "--database", database, "--label", "gold-june"]) == 0
    assert "1 invited" in capsys.readouterr().out
    assert main(["surveys", "invite", "--survey", "nps", "--store", "ny01",
                 "--database", database, "--label", "ny-june"]) == 0
    out = capsys.readouterr().out  # member 3 was just asked: only member 2
    assert "2 considered: 1 invited, 1 asked recently" in out
    listing = tmp_path / "members.csv"
    listing.write_text("member_no\n1\n2\n404\n", encoding="utf-8")
    assert main(["surveys", "invite", "--survey", "csat", "--members", str(listing),
                 "--database", database]) == 0
    out = capsys.readouterr().out
    assert "1 invited, 1 asked recently" in out and "not found: 404" in out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--survey", "stars", "--tier", "gold"], "no survey 'stars'"),
        (["--survey", "nps", "--tier", "platinum"], "no tier 'platinum'"),
        (["--survey", "nps", "--store", "XX9"], "no store with the code XX9"),
        (["--survey", "nps", "--members", "missing.csv"], "does not exist"),
        (["--survey", "nps", "--tier", "gold", "--label", "a:b"], "--label"),
    ],
)
def test_surveys_invite_refuses_bad_input_with_one_line(
    database: str, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    assert main(["surveys", "invite", *args, "--database", database]) == 2
    err = capsys.readouterr().err
    assert reason in err and len(err.strip().splitlines()) == 1


def test_report_surveys_prints_the_figures_and_writes_the_charts(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "surveys", "--from", "2026-05-01", "--to", "2026-06-30",
                 "--png", str(tmp_path / "charts"), "--database", database])
    out = capsys.readouterr().out
    assert code == 0
    assert "Satisfaction surveys, 2026-05-01 to 2026-06-30" in out
    assert any(line.startswith("NY01") and "2026-06" in line and "+100" in line
               for line in out.splitlines())
    for name in ("nps_trend.png", "csat_by_store.png", "score_distribution.png"):
        assert (tmp_path / "charts" / name).read_bytes().startswith(b"\x89PNG")
    assert main(["report", "surveys", "--from", "2026-07-01", "--to", "2026-06-01",
                 "--database", database]) == 2
    assert "before" in capsys.readouterr().err
    assert main(["report", "surveys", "--from", "June", "--database", database]) == 2
    assert "--from must be a date" in capsys.readouterr().err
