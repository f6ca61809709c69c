"""CSAT and NPS against hand-computed examples, including no answers and one answer."""

from __future__ import annotations

import pytest

from domain.surveys.model import SurveyKind, check_score, is_detractor, is_promoter
from domain.surveys.rules import csat_percent, group_scores, nps, summarise

CSAT, NPS = SurveyKind.CSAT, SurveyKind.NPS


def test_csat_is_the_share_of_fours_and_fives() -> None:
    assert csat_percent([5, 4, 3, 2, 1]) == pytest.approx(40.0)
    assert csat_percent([5, 5, 4, 4]) == 100.0
    assert csat_percent([1]) == 0.0


def test_nps_is_promoters_minus_detractors() -> None:
    # 10 answers: 5 promoters (9-10), 2 passives (7-8), 3 detractors (0-6): 50% - 30% = 20
    assert nps([10, 10, 9, 9, 9, 8, 7, 6, 3, 0]) == pytest.approx(20.0)
    assert nps([0, 6]) == -100.0
    assert nps([7, 8]) == 0.0


def test_no_answers_give_no_figure_rather_than_zero() -> None:
    assert csat_percent([]) is None and nps([]) is None
    empty = summarise([], invited=0)
    assert empty.answers == 0 and empty.response_rate is None and empty.nps is None


def test_one_answer_is_a_whole_sample() -> None:
    one = summarise([(NPS, 10)], invited=4)
    assert one.nps == 100.0 and one.csat_percent is None
    assert one.response_rate == 25.0 and one.distribution == {10: 1}


def test_detractors_and_promoters_by_scale() -> None:
    assert [s for s in range(1, 6) if is_detractor(CSAT, s)] == [1, 2]
    assert [s for s in range(0, 11) if is_detractor(NPS, s)] == [0, 1, 2, 3, 4, 5, 6]
    assert [s for s in range(0, 11) if is_promoter(NPS, s)] == [9, 10]
    assert not any(is_promoter(CSAT, s) for s in range(1, 6))


def test_scores_outside_the_scale_are_refused() -> None:
    for kind, bad in ((CSAT, 0), (CSAT, 6), (NPS, 11), (NPS, -1)):
        with pytest.raises(ValueError):
            check_score(kind, bad)


def test_figures_are_cut_by_store_and_month() -> None:
    answers = [
        (("SH01", "2026-05"), CSAT, 5),
        (("SH01", "2026-05"), CSAT, 2),
        (("SH01", "2026-06"), NPS, 10),
        (("LDN1", "2026-06"), NPS, 3),
    ]
    invited = {("SH01", "2026-05"): 4, ("SH01", "2026-06"): 1, ("LDN1", "2026-07"): 2}
    groups = group_scores(answers, invited)
    assert groups[("SH01", "2026-05")].csat_percent == 50.0
    assert groups[("SH01", "2026-05")].response_rate == 50.0
    assert groups[("SH01", "2026-06")].nps == 100.0
    assert groups[("LDN1", "2026-06")].nps == -100.0
    assert groups[("LDN1", "2026-06")].response_rate is None  # no invitations recorded
    assert groups[("LDN1", "2026-07")].answers == 0
