"""Campaign rules without a database: the file, the control group, cron, re-entry, priority,
and the uplift interval against a hand-computed case."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.campaigns.model import CampaignError, GroupOutcome, ScheduleKind, Trigger
from domain.campaigns.rules import (
    Rival,
    in_control,
    incremental_revenue,
    last_fire,
    may_reenter,
    render,
    send_moment,
    spec_from_mapping,
    spec_from_stored,
    spec_to_mapping,
    uplift,
    wins_over,
)
from domain.shared.policy import Policy
from tests.support.paths import ROOT

EXAMPLE = ROOT / "bot" / "templates" / "campaign.example.toml"


def _spec(text: str) -> object:
    return spec_from_mapping(tomllib.loads(text), Policy())


BASE = """
name = "Spring"
[message]
en = "Hi {name}"
zh = "你好 {name}"
[schedule]
type = "once"
at = "2026-07-01 10:00"
"""


def test_the_example_campaign_that_init_writes_is_a_valid_campaign() -> None:
    spec = spec_from_mapping(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")), Policy())
    assert spec.coupon_template == "ten_off"
    assert spec.audience.lifecycle == ("at_risk", "lapsed")
    assert spec.schedule.kind is ScheduleKind.ONCE
    assert spec_from_stored(spec_to_mapping(spec), None) == spec


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ('[audience]\ntiers = ["platinum"]', "there is no tier 'platinum'"),
        ('[audience]\nlifecycle = ["sleepy"]', "'sleepy' is no stage"),
        ("[audience]\np_alive = [0.8, 0.2]", "above the maximum"),
        ("[audience]\nbirthday_month = 13", "birthday_month must be 1-12"),
        ('[coupon]\ntemplate = "free_car"', "no coupon template 'free_car'"),
        ("[audience]\ncolour = 1", "unknown key(s) colour"),
    ],
)
def test_a_wrong_campaign_file_is_refused_naming_the_key(change: str, complaint: str) -> None:
    with pytest.raises(CampaignError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        _spec(BASE + change)


def test_a_message_with_an_unknown_field_or_a_coupon_code_without_a_coupon_is_refused() -> None:
    with pytest.raises(CampaignError, match="unknown field"):
        _spec(BASE.replace("Hi {name}", "Hi {nickname}"))
    with pytest.raises(CampaignError, match="no template"):
        _spec(BASE.replace("Hi {name}", "Your code {coupon_code}"))


def test_a_triggered_campaign_says_its_event_and_re_entry() -> None:
    spec = _spec(
        BASE.replace('type = "once"\nat = "2026-07-01 10:00"', "")
        + 'type = "triggered"\nevent = "days_after_first_purchase"\ndays = 7\nreentry_days = 30'
    )
    assert spec.schedule.trigger is Trigger.DAYS_AFTER_FIRST_PURCHASE  # type: ignore[attr-defined]
    assert spec.schedule.reentry_days == 30  # type: ignore[attr-defined]


def test_the_control_group_is_stable_and_about_the_share_asked_for() -> None:
    held = [m for m in range(20_000) if in_control(7, m, 0.10)]
    assert 1_800 < len(held) < 2_200
    assert held == [m for m in range(20_000) if in_control(7, m, 0.10)]
    other = {m for m in range(20_000) if in_control(8, m, 0.10)}
    assert other != set(held)  # each campaign holds back its own members


def test_the_uplift_interval_matches_the_hand_computed_case() -> None:
    # p_t = 150/1000 = 0.15, p_c = 120/1000 = 0.12, d = 0.03
    # SE = sqrt(0.15*0.85/1000 + 0.12*0.88/1000) = sqrt(0.0002331) = 0.0152676
    # 95%: 0.03 ± 1.959964 * 0.0152676 = 0.03 ± 0.0299240 -> [0.0000760, 0.0599240]
    treated = GroupOutcome(1000, 150, 180, Decimal("15000.00"))
    control = GroupOutcome(1000, 120, 140, Decimal("12000.00"))
    result = uplift(treated, control, min_group=100)
    assert result is not None and result.conclusive
    assert result.difference == pytest.approx(0.03)
    assert result.low == pytest.approx(0.0000760, abs=1e-6)
    assert result.high == pytest.approx(0.0599240, abs=1e-6)
    # (15.00 - 12.00) per member x 1000 treated members
    assert incremental_revenue(treated, control) == Decimal("3000.00")


def test_small_groups_are_too_small_to_conclude() -> None:
    result = uplift(
        GroupOutcome(40, 8, 8, Decimal(0)), GroupOutcome(5, 0, 0, Decimal(0)), min_group=100
    )
    assert result is not None and not result.conclusive
    assert uplift(GroupOutcome(10, 1, 1, Decimal(0)), GroupOutcome(0, 0, 0, Decimal(0)), 1) is None


def test_re_entry_follows_the_rule() -> None:
    now = datetime(2026, 6, 15, tzinfo=UTC)
    assert may_reenter(None, None, now)
    assert not may_reenter(None, now - timedelta(days=400), now)  # once per member ever
    assert not may_reenter(30, now - timedelta(days=29), now)
    assert may_reenter(30, now - timedelta(days=30), now)
    assert may_reenter(0, now, now)


def test_the_higher_priority_wins_the_day_and_a_tie_goes_to_the_earlier_campaign() -> None:
    assert wins_over(60, 9, Rival(3, 50))
    assert not wins_over(40, 9, Rival(3, 50))
    assert not wins_over(50, 9, Rival(3, 50))
    assert wins_over(50, 2, Rival(3, 50))


def test_a_one_off_campaign_is_sent_at_its_local_time_in_each_zone() -> None:
    spec = _spec(BASE)
    now = datetime(2026, 6, 30, 0, 0, tzinfo=UTC)
    shanghai = send_moment(spec, "Asia/Shanghai", now)  # type: ignore[arg-type]
    new_york = send_moment(spec, "America/New_York", now)  # type: ignore[arg-type]
    assert shanghai == datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    assert new_york == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
    late = datetime(2026, 7, 2, tzinfo=UTC)
    assert send_moment(spec, "Asia/Shanghai", late) == late  # type: ignore[arg-type]


def test_cron_finds_the_last_fire_time_since_the_last_wave() -> None:
    now = datetime(2026, 6, 15, 3, 7, tzinfo=UTC)  # Monday 11:07 in Shanghai
    fire = last_fire("0 10 * * mon", "Asia/Shanghai", now, now - timedelta(days=1))
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
    assert last_fire("0 10 * * mon", "Asia/Shanghai", now, fire) is None
    with pytest.raises(CampaignError, match="5 fields"):
        last_fire("every monday", "Asia/Shanghai", now, now)


def test_a_field_without_a_value_is_left_empty() -> None:
    assert render("{name}, {coupon_code}!", {"name": "Mei"}) == "Mei, !"
