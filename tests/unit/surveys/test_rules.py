"""Survey rules: the [surveys] policy section, the receipt sample, the frequency limit, buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.shared.clock import local_day
from domain.shared.errors import PolicyError
from domain.shared.text import MAX_ID
from domain.surveys.model import Mood, SurveyKind, month_of, mood_of
from domain.surveys.policy import SurveyPolicy, survey_policy_from_mapping
from domain.surveys.rules import (
    may_invite,
    may_invite_after_ticket,
    parse_score_data,
    sampled,
    score_buttons,
    score_data,
)
from tests.support.paths import POLICY_TEMPLATE

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def test_the_sample_is_the_same_on_every_run_and_about_the_share_asked_for() -> None:
    numbers = [f"R{n:07d}" for n in range(20_000)]
    first = [n for n in numbers if sampled(n, 20)]
    again = [n for n in numbers if sampled(n, 20)]
    assert first == again
    assert 0.18 < len(first) / len(numbers) < 0.22
    assert not any(sampled(n, 0) for n in numbers[:100])
    assert all(sampled(n, 100) for n in numbers[:100])


def test_a_bigger_share_keeps_every_receipt_a_smaller_one_picked() -> None:
    numbers = [f"SH01-{n}" for n in range(5_000)]
    small = {n for n in numbers if sampled(n, 10)}
    large = {n for n in numbers if sampled(n, 30)}
    assert small <= large


def test_one_invitation_per_member_per_window_whatever_the_trigger() -> None:
    policy = SurveyPolicy(min_days_between=30)
    assert may_invite(None, NOW, policy)
    assert not may_invite(NOW - timedelta(days=29, hours=23), NOW, policy)
    assert may_invite(NOW - timedelta(days=30), NOW, policy)


def test_a_closed_ticket_is_asked_about_unless_the_member_answered_lately() -> None:
    policy = SurveyPolicy(min_days_between=30)
    assert may_invite_after_ticket(None, NOW, policy)
    assert not may_invite_after_ticket(NOW - timedelta(days=3), NOW, policy)
    assert may_invite_after_ticket(NOW - timedelta(days=31), NOW, policy)


def test_button_data_stays_under_64_bytes_and_reads_back() -> None:
    data = score_data(MAX_ID, 10, "a1b2c3")  # the largest id an INTEGER column holds
    assert len(data.encode()) <= 64
    assert parse_score_data(data) == (MAX_ID, 10, "a1b2c3")
    assert parse_score_data(score_data(999_999_999_999, 10, "a1b2c3")) is None  # no such row
    for forged in ("sv:1:5", "sv:x:5:a1b2c3", "sv:1:5:ZZZZZZ", "xx:1:5:a1b2c3", "sv:1:-1:a1b2c3"):
        assert parse_score_data(forged) is None, forged


def test_score_buttons_cover_each_scale() -> None:
    csat = score_buttons(SurveyKind.CSAT, 7, "abcdef")
    nps = score_buttons(SurveyKind.NPS, 7, "abcdef")
    assert [b["text"] for row in csat for b in row] == ["1", "2", "3", "4", "5"]
    assert [b["text"] for row in nps for b in row] == [str(s) for s in range(11)]
    assert all(len(row) <= 8 for row in nps)
    assert nps[0][0]["data"] == "sv:7:0:abcdef"


def test_moods_follow_the_scales() -> None:
    assert mood_of(SurveyKind.CSAT, 2) is Mood.DETRACTOR
    assert mood_of(SurveyKind.CSAT, 5) is Mood.NEUTRAL  # CSAT has no promoters
    assert mood_of(SurveyKind.NPS, 6) is Mood.DETRACTOR
    assert mood_of(SurveyKind.NPS, 8) is Mood.NEUTRAL
    assert mood_of(SurveyKind.NPS, 9) is Mood.PROMOTER


def test_months_are_the_chains_local_months() -> None:
    # 31 May 17:00 UTC is already 1 June in Shanghai, still 31 May in New York.
    moment = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)
    assert month_of(local_day(moment, "Asia/Shanghai")) == "2026-06"
    assert month_of(local_day(moment, "America/New_York")) == "2026-05"


def test_an_empty_section_gives_the_defaults() -> None:
    policy = survey_policy_from_mapping({})
    assert policy == SurveyPolicy()
    assert {s.key for s in policy.surveys} == {"csat", "service", "nps"}
    assert policy.survey("nps") is not None and policy.survey("nps").kind is SurveyKind.NPS


def test_surveys_can_be_defined_in_the_policy_file() -> None:
    policy = survey_policy_from_mapping(
        {
            "after_purchase": "quick",
            "after_ticket": "",
            "purchase_sample_percent": 5,
            "definitions": {
                "quick": {"kind": "csat", "question_en": "Happy with {store}?",
                          "question_zh": "对{store}满意吗？"},
            },
        }
    )
    quick = policy.survey("quick")
    assert quick is not None and not quick.asks_comment
    assert quick.question("zh") == "对{store}满意吗？"
    assert policy.after_ticket == "" and policy.purchase_sample_percent == 5.0


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"after_purchase": "nope"}, "surveys.after_purchase"),
        ({"purchase_sample_percent": 120}, "surveys.purchase_sample_percent"),
        ({"purchase_sample_percent": "lots"}, "surveys.purchase_sample_percent"),
        ({"purchase_delay_hours": 30, "purchase_max_age_hours": 24}, "purchase_delay_hours"),
        ({"min_days_between": -1}, "surveys.min_days_between"),
        ({"expire_days": 0}, "surveys.expire_days"),
        ({"message_kind": "spam"}, "surveys.message_kind"),
        ({"referral_link": "https://t.me/{bot}?start={who}"}, "surveys.referral_link"),
        ({"definitions": {"x": {"kind": "stars", "question_en": "?"}}}, "definitions.x.kind"),
        ({"definitions": {"x": {"kind": "nps"}}}, "definitions.x"),
        ({"definitions": {"Bad Key": {"kind": "nps", "question_en": "?"}}}, "Bad Key"),
        ({"definitions": {"x": {"kind": "nps", "question_en": "{price}?"}}}, "question"),
    ],
)
def test_a_wrong_setting_is_named(section: dict[str, object], named: str) -> None:
    with pytest.raises(PolicyError, match=named.replace(".", r"\.").replace("[", r"\[")):
        survey_policy_from_mapping(section)


def test_the_referral_link_needs_the_bots_name() -> None:
    policy = SurveyPolicy()
    assert policy.referral_url("100001", None) is None
    assert policy.referral_url("100001", "shop_bot") == "https://t.me/shop_bot?start=ref_100001"
    named = SurveyPolicy(bot_username="mart_bot")
    assert named.referral_url("7", None) == "https://t.me/mart_bot?start=ref_7"
    assert SurveyPolicy(referral=False).referral_url("7", "shop_bot") is None


def test_the_commented_template_states_the_defaults() -> None:
    import tomllib

    from domain.shared.policy import Policy, policy_from_mapping

    template = POLICY_TEMPLATE
    policy = policy_from_mapping(tomllib.loads(template.read_text(encoding="utf-8")))
    assert policy.surveys == SurveyPolicy() == Policy().surveys


def test_the_call_back_category_must_be_a_ticket_category() -> None:
    from domain.shared.policy import policy_from_mapping

    with pytest.raises(PolicyError, match="surveys.recovery_category"):
        policy_from_mapping({"surveys": {"recovery_category": "vip"}})
    relaxed = policy_from_mapping({"surveys": {"recovery": False, "recovery_category": "vip"}})
    assert not relaxed.surveys.recovery
