"""The report's arithmetic on counted groups, against hand-computed figures."""

from __future__ import annotations

from datetime import date

import pytest

from domain.members.model import Store
from domain.surveys.model import AnswerCount, InvitationCount, SurveyKind
from domain.surveys.rules import summarise, summarise_counts, weekly_key
from domain.surveys.services import NO_STORE, build_report, months_between, previous_week

CSAT, NPS = SurveyKind.CSAT, SurveyKind.NPS
STORES = {
    1: Store("SH01", "人民广场店", "Asia/Shanghai", 1),
    2: Store("NY01", "Canal St", "UTC", 2),
}


def test_counted_answers_give_the_same_figures_as_single_ones() -> None:
    singles = [(NPS, 10)] * 5 + [(NPS, 8)] * 2 + [(NPS, 3)] * 3 + [(CSAT, 5), (CSAT, 2)]
    counted = summarise_counts({(NPS, 10): 5, (NPS, 8): 2, (NPS, 3): 3, (CSAT, 5): 1,
                                (CSAT, 2): 1}, invited=24)
    assert counted == summarise(singles, invited=24)
    assert counted.nps == pytest.approx(20.0) and counted.csat_percent == 50.0


def test_the_response_rate_counts_the_invitations_that_were_answered() -> None:
    scores = summarise_counts({(CSAT, 4): 3}, invited=10, responded=2)
    assert scores.response_rate == 20.0 and scores.answers == 3


def _report() -> object:
    answers = [
        # SH01 in May: CSAT 5, 4, 1 -> 66.7 %; June: NPS 10, 9, 6, 7 -> (2 - 1) / 4 = 25
        AnswerCount(1, "2026-05", CSAT, "purchase", 5, 1),
        AnswerCount(1, "2026-05", CSAT, "purchase", 4, 1),
        AnswerCount(1, "2026-05", CSAT, "quality", 1, 1),
        AnswerCount(1, "2026-06", NPS, "gold-wave", 10, 1),
        AnswerCount(1, "2026-06", NPS, "gold-wave", 9, 1),
        AnswerCount(1, "2026-06", NPS, "gold-wave", 6, 1),
        AnswerCount(1, "2026-06", NPS, "gold-wave", 7, 1),
        # NY01 in June: CSAT 2, 2 -> 0 %
        AnswerCount(2, "2026-06", CSAT, "purchase", 2, 2),
        # a member without a home store, asked by segment
        AnswerCount(None, "2026-06", NPS, "gold-wave", 0, 1),
    ]
    invitations = [
        InvitationCount(1, "2026-05", CSAT, 6, 3),
        InvitationCount(1, "2026-06", NPS, 8, 4),
        InvitationCount(2, "2026-06", CSAT, 4, 2),
        InvitationCount(2, "2026-04", CSAT, 5, 0),  # asked in April, nobody answered
        InvitationCount(None, "2026-06", NPS, 1, 1),
    ]
    return build_report(answers, invitations, STORES, date(2026, 4, 1), date(2026, 6, 30),
                        "Asia/Shanghai")


def test_figures_by_store_and_month() -> None:
    report = _report()
    may = report.cells[("SH01", "2026-05")]
    assert may.csat_percent == pytest.approx(200 / 3) and may.response_rate == 50.0
    june = report.cells[("SH01", "2026-06")]
    assert june.nps == pytest.approx(25.0) and june.csat_percent is None
    assert report.cells[("NY01", "2026-04")].answers == 0
    assert report.cells[("NY01", "2026-04")].response_rate == 0.0
    assert report.by_store["NY01"].csat_percent == 0.0
    assert report.by_store["NY01"].response_rate == pytest.approx(100 * 2 / 9)
    assert report.by_store[NO_STORE].nps == -100.0


def test_figures_by_month_category_and_in_total() -> None:
    report = _report()
    # June NPS: 10, 9, 6, 7, 0 -> (2 - 2) / 5 = 0
    assert report.by_month["2026-06"].nps == pytest.approx(0.0)
    assert report.by_category["quality"].csat_percent == 0.0
    assert report.by_category["purchase"].csat_percent == pytest.approx(50.0)
    assert report.total.answers == 10 and report.total.invited == 24
    assert report.total.response_rate == pytest.approx(100 * 10 / 24)
    assert report.distribution[CSAT] == {1: 1, 2: 2, 3: 0, 4: 1, 5: 1}
    assert sum(report.distribution[NPS].values()) == 5


def test_the_charts_data_shows_every_month_and_every_store() -> None:
    report = _report()
    trend = report.trend()
    assert [p.month for p in trend] == ["2026-04", "2026-05", "2026-06"]
    assert trend[0].nps is None and trend[2].answers == 5
    bars = {b.store: b for b in report.store_bars()}
    assert bars["SH01 人民广场店"].answers == 3 and bars["NY01 Canal St"].csat_percent == 0.0


def test_calendar_helpers() -> None:
    assert months_between(date(2025, 11, 20), date(2026, 2, 1)) == [
        "2025-11", "2025-12", "2026-01", "2026-02"
    ]
    # Monday 15 June 2026: the week before is 8-14 June, ISO week 24.
    assert previous_week(date(2026, 6, 15)) == (date(2026, 6, 8), date(2026, 6, 14))
    assert previous_week(date(2026, 6, 21)) == (date(2026, 6, 8), date(2026, 6, 14))
    assert weekly_key(date(2026, 6, 8)) == "survey:weekly:2026-W24"
