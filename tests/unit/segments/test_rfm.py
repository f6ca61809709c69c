"""RFM scores on small hand-computed tables, by quintiles (ties equal) and by cut points, and the
named segments of the R and F pairs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.segments.policy import SegmentPolicy, segment_policy_from_mapping
from domain.segments.rules import rfm_scores, segment_grid, segment_of
from domain.shared.errors import PolicyError

QUINTILES = SegmentPolicy()
THRESHOLDS = replace(SegmentPolicy(), method="thresholds")


def test_quintile_scores_match_the_hand_computed_table() -> None:
    # Ten members. A score is 1 + floor(5 × beaten / 10), "beaten" counting members strictly
    # worse off: for recency those with more days since their last purchase.
    recency = [1, 3, 3, 10, 20, 40, 40, 40, 90, 200]
    frequency = [1, 1, 1, 1, 2, 2, 3, 5, 8, 13]
    monetary = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    r, f, m = rfm_scores(QUINTILES, recency, frequency, monetary)
    assert r.tolist() == [5, 4, 4, 4, 3, 2, 2, 2, 1, 1]
    assert f.tolist() == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    assert m.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_members_with_equal_figures_get_equal_quintile_scores() -> None:
    # Six of ten bought once: all six score 1, none spills into 2; the next value scores 4.
    r, f, m = rfm_scores(QUINTILES, [5] * 10, [1] * 6 + [2, 2, 3, 9], [50] * 10)
    assert f.tolist() == [1] * 6 + [4, 4, 5, 5]
    assert set(r.tolist()) == {1} and set(m.tolist()) == {1}


def test_threshold_scores_match_the_policy_cut_points() -> None:
    # recency_days = [14, 30, 60, 120]: 14 or less scores 5, more than 120 scores 1
    # frequency = [2, 4, 8, 16]: fewer than 2 scores 1, 16 or more scores 5
    # monetary = [200, 500, 1500, 5000] in yuan (the figures are in cents)
    r, f, m = rfm_scores(
        THRESHOLDS,
        [1, 14, 15, 30, 31, 60, 61, 120, 121, 400],
        [1, 2, 3, 4, 7, 8, 15, 16, 17, 0],
        [19_999, 20_000, 49_999, 50_000, 149_999, 150_000, 499_999, 500_000, 0, 10**9],
    )
    assert r.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert f.tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 1]
    assert m.tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 1, 5]


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "champions"), (5, 4, "champions"), (4, 5, "loyal"), (3, 4, "loyal"),
        (5, 2, "potential_loyalists"), (4, 3, "potential_loyalists"), (5, 1, "new_customers"),
        (4, 1, "promising"), (3, 3, "need_attention"), (3, 1, "about_to_sleep"),
        (3, 2, "about_to_sleep"), (2, 3, "at_risk"), (1, 4, "at_risk"), (1, 5, "cant_lose"),
        (2, 5, "cant_lose"), (1, 1, "hibernating"), (2, 2, "hibernating"),
    ],
)
def test_the_default_map_names_every_r_and_f_pair(r: int, f: int, segment: str) -> None:
    assert segment_of(QUINTILES.segments, r, f) == segment


def test_every_pair_has_a_segment_in_the_default_map_and_no_score_has_none() -> None:
    grid = segment_grid(QUINTILES.segments)
    assert all(grid[r][f] for r in range(1, 6) for f in range(1, 6))
    assert segment_of(QUINTILES.segments, None, None) is None


def test_a_chain_can_regroup_and_rename_its_segments() -> None:
    policy = segment_policy_from_mapping(
        {
            "method": "thresholds",
            "map": [
                {"key": "vip", "name_en": "VIP", "name_zh": "贵宾", "r": [4, 5], "f": [4, 5]},
                {"key": "others", "name_en": "Others", "r": [1, 2, 3, 4, 5],
                 "f": [1, 2, 3, 4, 5]},
            ],
        }
    )
    assert segment_of(policy.segments, 5, 5) == "vip"
    assert segment_of(policy.segments, 3, 5) == "others"
    assert policy.segment_name("vip", "zh") == "贵宾"
    assert policy.segment_name("others", "zh") == "Others"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"method": "deciles"}, "segments.method"),
        ({"recency_days": [30, 14, 60, 120]}, "must increase"),
        ({"frequency": [1, 2, 3]}, "list of 4"),
        ({"map": [{"key": "Bad Key", "r": [5], "f": [5]}]}, "lower-case"),
        ({"map": [{"key": "x", "r": [6], "f": [5]}]}, "scores 1 to 5"),
        ({"active_days": 90, "lapsed_days": 60}, "must not decrease"),
        ({"p_alive_threshold": 2}, "between 0 and 1"),
    ],
)
def test_a_wrong_segments_section_is_refused_naming_the_key(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        segment_policy_from_mapping(data)
