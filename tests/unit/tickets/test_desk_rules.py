"""The staff desk's rules without a database: who may do and see what, ticket numbers, what the
follow-up job must look at next, ratings, and the [tickets] section of the policy file."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import pytest

from domain.shared.errors import PolicyError
from domain.shared.policy import policy_from_mapping
from domain.staff.model import Role, StaffMember
from domain.tickets.model import (
    ACTIVE_STATUSES,
    Desk,
    Ticket,
    TicketRefused,
    TicketStatus,
    new_ticket,
)
from domain.tickets.policy import TicketPolicy, ticket_policy_from_mapping
from domain.tickets.rules import (
    card_buttons,
    may_work,
    parse_ticket_number,
    sees_personal_data,
    ticket_of_topic,
    topic_of,
)
from tests.support.paths import POLICY_TEMPLATE

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = TicketPolicy()
TEMPLATE = POLICY_TEMPLATE


def ticket(category: str = "service") -> Ticket:
    made = new_ticket(member_id=1, category=category, description="the milk was sour", at=T0,
                      policy=POLICY)
    made.id = 42
    return made


def staff(role: Role, staff_id: int = 7) -> StaffMember:
    return StaffMember(str(5000 + staff_id), role, f"staff {staff_id}", id=staff_id)


@pytest.mark.parametrize(
    ("text", "number"),
    [("42", 42), ("#42", 42), ("T-000042", 42), ("t42", 42), ("t-42", 42), (" 7 ", 7),
     ("0", None), ("T-", None), ("42a", None), ("forty", None), ("", None)],
)
def test_ticket_numbers_are_read_the_way_people_write_them(text: str, number: int | None) -> None:
    assert parse_ticket_number(text) == number


def test_agents_work_free_or_own_tickets_and_managers_and_admins_any() -> None:
    free, mine, theirs = ticket(), ticket(), ticket()
    mine.assignee_id, theirs.assignee_id = 7, 8
    agent = staff(Role.AGENT)
    assert may_work(agent, free) and may_work(agent, mine) and not may_work(agent, theirs)
    for role in (Role.MANAGER, Role.ADMIN):
        assert may_work(staff(role), theirs)


def test_full_personal_data_only_for_managers_and_admins_in_a_private_chat() -> None:
    assert not sees_personal_data(staff(Role.AGENT), private_chat=True)
    assert sees_personal_data(staff(Role.MANAGER), private_chat=True)
    assert sees_personal_data(staff(Role.ADMIN), private_chat=True)
    assert not sees_personal_data(staff(Role.ADMIN), private_chat=False)  # the staff group


def test_the_desk_reads_the_settings_as_they_come() -> None:
    assert Desk.from_settings(-100123, (1, 2)) == Desk("-100123", frozenset({"1", "2"}))
    assert Desk.from_settings(None, ()) == Desk()
    assert topic_of(42) == "ticket:42" and ticket_of_topic("ticket:42") == 42
    assert ticket_of_topic("campaign:3") is None and ticket_of_topic(None) is None


def test_button_data_stays_under_telegrams_64_bytes_with_the_longest_keys() -> None:
    long_keys = ticket_policy_from_mapping({
        "canned_replies": [{"key": "k" * 24, "text_en": "x" * 500}],
        "categories": [{"key": "c" * 24}],
    })
    data = [b["data"] for row in card_buttons(999_999_999, long_keys) for b in row]
    data.append(f"ct:cat:{'c' * 24}")
    assert max(len(d.encode()) for d in data) <= 64


def test_the_next_check_follows_both_sla_clocks_and_what_was_already_said() -> None:
    t = ticket()  # service: first answer due after 4 hours, resolution after 48
    warn = T0 + timedelta(hours=4) * 0.8
    assert t.next_check(POLICY) == warn
    t.sla_tell("first_response", "warn")
    assert t.next_check(POLICY) == T0 + timedelta(hours=4)
    t.sla_tell("first_response", "breach")
    # Still unanswered a whole SLA period after the breach: the escalation is next.
    assert t.next_check(POLICY) == T0 + timedelta(hours=8)
    t.sla_tell("first_response", "escalate")
    assert t.next_check(POLICY) == T0 + timedelta(hours=48) * 0.8  # the resolution clock ran
    t.staff_replied(T0 + timedelta(hours=5))  # the first-answer clock stops, a wait starts
    assert t.sla_clock(0.8) == ("resolution", T0 + timedelta(hours=48) * 0.8,
                                T0 + timedelta(hours=48))
    assert t.next_check(POLICY) == T0 + timedelta(hours=48) * 0.8
    for level in ("warn", "breach", "escalate"):
        t.sla_tell("resolution", level)
    reminder = T0 + timedelta(hours=5, days=POLICY.member_reminder_days)
    assert t.next_check(POLICY) == reminder  # the member owes an answer
    t.member_reminded_at = reminder
    assert t.next_check(POLICY) == T0 + timedelta(hours=5, days=POLICY.auto_close_days)


def test_a_new_wait_for_the_member_earns_its_own_reminder() -> None:
    t = ticket()
    t.staff_replied(T0)
    t.member_reminded_at = T0 + timedelta(days=2)
    t.member_wrote(T0 + timedelta(days=3))
    t.staff_replied(T0 + timedelta(days=3))
    assert t.member_reminded_at is None and t.waiting_since == T0 + timedelta(days=3)


def test_after_resolving_and_closing_only_the_auto_close_and_the_check_in_remain() -> None:
    t = ticket()
    t.resolve(T0 + timedelta(hours=1))
    assert t.sla_due is None
    assert t.next_check(POLICY) == T0 + timedelta(hours=1, days=POLICY.reopen_days)
    t.close(T0 + timedelta(days=2), reason="staff")
    assert t.close_reason == "staff"
    assert t.next_check(POLICY) == T0 + timedelta(days=2 + POLICY.follow_up_days)
    t.followed_up_at = T0 + timedelta(days=5)
    assert t.next_check(POLICY) is None


def test_only_a_closed_ticket_is_rated_from_1_to_5() -> None:
    t = ticket()
    with pytest.raises(TicketRefused):
        t.rate(5, T0)
    t.close(T0)
    for bad in (0, 6):
        with pytest.raises(TicketRefused):
            t.rate(bad, T0)
    t.rate(2, T0)
    t.rate(4, T0 + timedelta(minutes=1))  # a second answer replaces the first
    assert t.satisfaction == 4 and t.rated_at == T0 + timedelta(minutes=1)


def test_escalating_raises_the_priority_and_keeps_the_first_moment() -> None:
    t = ticket()
    t.escalate(T0)
    t.escalate(T0 + timedelta(hours=1))
    assert t.priority.value == "high" and t.escalated_at == T0


def test_active_statuses_are_the_ones_a_clock_runs_for() -> None:
    assert set(ACTIVE_STATUSES) == {TicketStatus.OPEN, TicketStatus.WAITING_STAFF,
                                    TicketStatus.WAITING_MEMBER}


def test_the_policy_file_carries_the_tickets_section_and_the_template_is_the_default() -> None:
    policy = policy_from_mapping({"tickets": {"reopen_days": 3, "staff_language": "zh"}})
    assert policy.tickets.reopen_days == 3 and policy.tickets.staff_language == "zh"
    template = policy_from_mapping(tomllib.loads(TEMPLATE.read_text(encoding="utf-8")))
    assert template.tickets == TicketPolicy()


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"categories": [{"key": "Fresh Food"}]}, "key"),
        ({"canned_replies": [{"key": "a" * 25}]}, "key"),
        ({"categories": [{"key": "a"}, {"key": "a"}]}, "different"),
        ({"staff_language": "fr"}, "staff_language"),
        ({"member_reminder_days": 5, "auto_close_days": 5}, "member_reminder_days"),
    ],
)
def test_a_wrong_tickets_section_names_what_is_wrong(bad: dict[str, object], named: str) -> None:
    with pytest.raises(PolicyError, match=named):
        ticket_policy_from_mapping(bad)
    with pytest.raises(PolicyError):
        policy_from_mapping({"tickets": bad})


def test_a_ticket_nobody_answers_warns_breaches_and_escalates_on_both_clocks_each_once() -> None:
    t = ticket()  # first answer due after 4 hours, resolution after 48, nobody ever answers
    said: list[tuple[str, str]] = []
    moment = T0
    for _ in range(200):  # every half hour for 100 hours
        for alert in t.sla_alerts_due(moment, 0.8):
            said.append(alert)
            t.sla_tell(*alert)
        moment += timedelta(minutes=30)
    assert said == [
        ("first_response", "warn"), ("first_response", "breach"),
        ("first_response", "escalate"), ("resolution", "warn"), ("resolution", "breach"),
        ("resolution", "escalate"),  # 48 hours past its due time of 48 hours
    ]
    assert t.next_check(POLICY) is None  # everything was said, once
    assert len(t.sla_notified) <= 32  # fits the column


def test_a_late_run_skips_the_warning_its_breach_made_moot() -> None:
    t = ticket()
    assert t.sla_alerts_due(T0 + timedelta(hours=4, minutes=1), 0.8) == [
        ("first_response", "breach")
    ]
    t.sla_tell("first_response", "breach")
    assert t.sla_alerts_due(T0 + timedelta(hours=5), 0.8) == []


def test_alerts_recorded_before_both_clocks_ran_from_the_start_are_still_honoured() -> None:
    t = ticket()
    t.sla_notified = "first_response:breach"  # a row written by the previous version
    assert t.sla_alerts_due(T0 + timedelta(hours=5), 0.8) == []
    assert t.sla_alerts_due(T0 + timedelta(hours=8), 0.8) == [("first_response", "escalate")]
