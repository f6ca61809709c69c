"""Callback rules without a database: the window and priorities, timing across time zones,
retries, reminders, button data, what staff type as a time, CSV cells."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.callbacks.model import Callback, CallbackStatus, Channel, Outcome, Reason, Rule
from domain.callbacks.policy import CallbackPolicy, callback_policy_from_mapping
from domain.callbacks.rules import (
    admit,
    after_no_answer,
    call_list_cell,
    checkin_buttons,
    is_high_value,
    new_member_due,
    overdue_stage,
    parse_checkin,
    parse_when,
    problem_category,
    rule_for_ticket,
)
from domain.shared.errors import PolicyError
from domain.shared.policy import Policy, policy_from_mapping
from domain.shared.text import csv_cell, csv_cell_read
from tests.support.paths import POLICY_TEMPLATE

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
POLICY = CallbackPolicy()


def callback(rule: Rule, *, days_ago: float = 1, open_: bool = True, ident: int = 1,
             outcome: Outcome | None = None) -> Callback:
    made = NOW - timedelta(days=days_ago)
    return Callback(
        member_id=7, rule=rule, channel=Channel.CALL,
        status=CallbackStatus.QUEUED if open_ else CallbackStatus.DONE,
        dedupe_key=f"{rule}:{ident}", created_at=made, due_at=made, id=ident,
        outcome=outcome if not open_ else None,
    )


def test_a_member_gets_one_callback_in_the_window_whatever_the_rule() -> None:
    recent = [callback(Rule.VIP, days_ago=3, open_=False, outcome=Outcome.ALL_GOOD)]
    assert not admit(Rule.VIP, recent, POLICY, NOW).allowed
    assert not admit(Rule.NEW_MEMBER, recent, POLICY, NOW).allowed
    long_ago = [callback(Rule.VIP, days_ago=POLICY.min_days_between + 1, open_=False,
                         outcome=Outcome.ALL_GOOD)]
    assert admit(Rule.VIP, long_ago, POLICY, NOW).allowed


def test_a_complaint_goes_ahead_of_an_open_vip_call_and_replaces_it() -> None:
    vip = callback(Rule.VIP, ident=4)
    decision = admit(Rule.COMPLAINT, [vip], POLICY, NOW)
    assert decision.allowed and decision.supersedes == (4,)
    # ...but a VIP call never displaces a complaint call.
    assert not admit(Rule.VIP, [callback(Rule.COMPLAINT)], POLICY, NOW).allowed


def test_a_replaced_callback_does_not_count_towards_the_window() -> None:
    gone = callback(Rule.VIP, open_=False, outcome=Outcome.SUPERSEDED)
    assert admit(Rule.NEW_MEMBER, [gone], POLICY, NOW).allowed


def test_a_survey_ticket_is_a_detractor_callback_every_other_a_complaint() -> None:
    assert rule_for_ticket(("survey",)) is Rule.DETRACTOR
    assert rule_for_ticket(()) is Rule.COMPLAINT


def test_a_new_member_is_called_on_the_seventh_morning_of_their_stores_time_zone() -> None:
    # 23:30 on 1 June in Shanghai is 15:30 UTC; in London it is still the afternoon of 1 June.
    bought = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)
    shanghai = new_member_due(bought, 7, POLICY, "Asia/Shanghai")
    assert shanghai == datetime(2026, 6, 8, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    london = new_member_due(bought, 7, POLICY, "Europe/London")
    assert london == datetime(2026, 6, 8, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    assert london - shanghai == timedelta(hours=7)
    # A purchase at 00:30 Shanghai time (16:30 UTC the day before) counts on the Shanghai day.
    early = datetime(2026, 6, 1, 16, 30, tzinfo=UTC)
    assert new_member_due(early, 7, POLICY, "Asia/Shanghai").day == 9


def test_no_answer_is_retried_until_the_attempts_are_used_up() -> None:
    call = callback(Rule.COMPLAINT)
    call.attempts = 1
    assert after_no_answer(call, POLICY, NOW) == NOW + timedelta(hours=POLICY.retry_hours)
    call.attempts = POLICY.max_attempts
    assert after_no_answer(call, POLICY, NOW) is None


def test_an_overdue_call_reminds_the_assignee_then_the_managers_once_each() -> None:
    call = callback(Rule.COMPLAINT, days_ago=0)
    call.due_at = NOW
    assert overdue_stage(call, POLICY, NOW + timedelta(hours=1)) is None
    assert overdue_stage(call, POLICY, NOW + timedelta(hours=5)) == "assignee"
    call.reminded = "assignee"
    assert overdue_stage(call, POLICY, NOW + timedelta(hours=5)) is None
    assert overdue_stage(call, POLICY, NOW + timedelta(hours=25)) == "managers"
    call.reminded = "managers"
    assert overdue_stage(call, POLICY, NOW + timedelta(days=9)) is None
    fresh = callback(Rule.COMPLAINT, days_ago=0)
    fresh.due_at = NOW  # late enough for both at once: only the managers' reminder is due
    assert overdue_stage(fresh, POLICY, NOW + timedelta(hours=30)) == "managers"


def test_the_gone_quiet_check_in_offers_a_reason_in_one_tap() -> None:
    quiet = callback(Rule.GONE_QUIET, ident=12)
    data = [b["data"] for row in checkin_buttons(quiet) for b in row]
    assert data[:2] == ["cb:ok:12", "cb:pb:12"]
    assert "cb:rs:12:prices" in data and len(data) == 2 + len(Reason)
    assert all(len(d.encode()) <= 64 for d in data)
    assert len(checkin_buttons(callback(Rule.VIP, ident=12))) == 2


@pytest.mark.parametrize(
    ("data", "parsed"),
    [
        ("cb:ok:12", (Outcome.ALL_GOOD, 12, None)),
        ("cb:pb:3", (Outcome.PROBLEM, 3, None)),
        ("cb:rs:12:busy", (Outcome.REASON, 12, Reason.BUSY)),
        ("cb:rs:12:bogus", None),
        ("cb:rs:12", None),
        ("cb:ok:12:x", None),
        ("cb:zz:12", None),
        ("cb:ok:abc", None),
        ("tk:ok:12", None),
    ],
)
def test_check_in_button_data_is_read_strictly(
    data: str, parsed: tuple[Outcome, int, Reason | None] | None
) -> None:
    assert parse_checkin(data) == parsed


def test_call_again_times_are_read_in_the_chains_zone_and_must_be_ahead() -> None:
    tz = "Asia/Shanghai"  # NOW is 10:00 in Shanghai
    zone = ZoneInfo(tz)
    assert parse_when("2026-06-16 15:00", tz, NOW) == datetime(2026, 6, 16, 15, 0, tzinfo=zone)
    assert parse_when("tomorrow 9:30", tz, NOW) == datetime(2026, 6, 16, 9, 30, tzinfo=zone)
    assert parse_when("明天 10:00", tz, NOW) == datetime(2026, 6, 16, 10, 0, tzinfo=zone)
    assert parse_when("15:00", tz, NOW) == datetime(2026, 6, 15, 15, 0, tzinfo=zone)
    assert parse_when("09:00", tz, NOW) is None  # already past today
    assert parse_when("25:00", tz, NOW) is None
    assert parse_when("2026-02-30 10:00", tz, NOW) is None
    assert parse_when("soon", tz, NOW) is None


def test_a_problem_goes_to_the_complaints_category_or_the_reasons() -> None:
    categories = ["quality", "service", "billing", "delivery", "other"]
    complaint = callback(Rule.COMPLAINT)
    complaint.category = "delivery"
    assert problem_category(complaint, None, categories) == "delivery"
    quiet = callback(Rule.GONE_QUIET)
    assert problem_category(quiet, Reason.PRICES, categories) == "billing"
    assert problem_category(quiet, Reason.MOVED, categories) == "other"
    assert problem_category(quiet, None, categories) == "other"


def test_valuable_means_tier_score_segments_verdict_or_churn_flag() -> None:
    assert is_high_value(POLICY, tier="gold", high_value=False, churn_flag=False)
    assert is_high_value(POLICY, tier="member", high_value=True, churn_flag=False)
    assert is_high_value(POLICY, tier="member", high_value=False, churn_flag=False, m=5)
    assert is_high_value(POLICY, tier="member", high_value=False, churn_flag=True)
    assert not is_high_value(POLICY, tier="member", high_value=False, churn_flag=False, m=3)
    no_churn = callback_policy_from_mapping({"churn_flag": False})
    assert not is_high_value(no_churn, tier="member", high_value=False, churn_flag=True)


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"x\")", "-2+3", "@SUM(A1)"])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text_and_read_back(cell: str) -> None:
    written = csv_cell(call_list_cell(cell))
    assert isinstance(written, str) and written.startswith("'")
    assert csv_cell_read(written) == cell


@pytest.mark.parametrize("cell", ["+8613800138000", "-1", "Li Lei", " =x"])
def test_plain_numbers_and_text_are_written_as_they_are_and_read_back(cell: str) -> None:
    assert csv_cell(cell) == cell
    assert csv_cell_read(cell) == cell.strip()


def test_a_call_list_cell_is_one_line() -> None:
    assert call_list_cell("Li Lei") == "Li Lei"
    assert call_list_cell("a\x00b\nc") == "abc"
    assert call_list_cell(None) == ""


def test_the_policy_template_documents_the_callbacks_defaults() -> None:
    data = tomllib.loads(POLICY_TEMPLATE.read_text(encoding="utf-8"))
    assert policy_from_mapping(data).callbacks == Policy().callbacks


def test_a_rule_can_be_switched_off_and_given_another_channel() -> None:
    policy = callback_policy_from_mapping(
        {"rules": {"vip": {"enabled": False}, "complaint": {"channel": "checkin"}}}
    )
    assert not policy.enabled(Rule.VIP)
    assert policy.rule(Rule.COMPLAINT).channel is Channel.CHECKIN


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"rules": {"vips": {}}}, "vips"),
        ({"rules": {"vip": {"channel": "sms"}}}, "callbacks.rules.vip.channel"),
        ({"rules": {"vip": {"enabled": "yes"}}}, "callbacks.rules.vip.enabled"),
        ({"rules": {"complaint": {"after_hours": 30}}}, "callbacks.rules.complaint.after_hours"),
        ({"rules": {"vip": {"days": 0}}}, "callbacks.rules.vip.days"),
        ({"rules": {"vip": {"colour": "red"}}}, "colour"),
        ({"min_days_between": 0}, "callbacks.min_days_between"),
        ({"remind_after_hours": 30}, "callbacks.escalate_after_hours"),
        ({"due_time": "ten"}, "callbacks.due_time"),
        ({"high_value_min_m": 6}, "callbacks.high_value_min_m"),
        ({"high_value_tiers": "gold"}, "callbacks.high_value_tiers"),
    ],
)
def test_a_wrong_callbacks_key_is_named(data: dict[str, object], names: str) -> None:
    with pytest.raises(PolicyError, match=names.replace(".", r"\.")):
        callback_policy_from_mapping(data)
