"""Ticket rules without a database: statuses, reopening, SLA clocks and the policy file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.shared.errors import PolicyError
from domain.tickets.model import Priority, TicketRefused, TicketStatus, new_ticket
from domain.tickets.policy import TicketPolicy, ticket_policy_from_mapping

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = TicketPolicy()


def ticket(category: str = "service"):  # type: ignore[no-untyped-def]
    return new_ticket(member_id=1, category=category, description="the milk was sour",
                      at=T0, policy=POLICY)


def test_a_quality_complaint_is_high_priority_with_a_tighter_sla() -> None:
    quality, service = ticket("quality"), ticket("service")
    assert quality.priority is Priority.HIGH and service.priority is Priority.NORMAL
    assert quality.first_response_due == T0 + timedelta(hours=1)
    assert service.first_response_due == T0 + timedelta(hours=4)


def test_an_unknown_category_or_empty_description_opens_nothing() -> None:
    with pytest.raises(TicketRefused):
        new_ticket(member_id=1, category="aliens", description="x", at=T0, policy=POLICY)
    with pytest.raises(TicketRefused):
        new_ticket(member_id=1, category="other", description="  ", at=T0, policy=POLICY)


def test_replies_move_the_ticket_between_staff_and_member() -> None:
    t = ticket()
    t.staff_replied(T0 + timedelta(hours=1))
    assert t.status is TicketStatus.WAITING_MEMBER
    assert t.first_responded_at == T0 + timedelta(hours=1)
    t.member_wrote(T0 + timedelta(hours=2))
    assert t.status is TicketStatus.WAITING_STAFF
    t.staff_replied(T0 + timedelta(hours=3))
    assert t.first_responded_at == T0 + timedelta(hours=1)  # the first answer counts


def test_a_resolved_ticket_can_be_reopened_only_within_the_window() -> None:
    t = ticket()
    t.resolve(T0)
    assert t.can_reopen(T0 + timedelta(days=POLICY.reopen_days), POLICY)
    late = ticket()
    late.resolve(T0)
    with pytest.raises(TicketRefused):
        late.reopen(T0 + timedelta(days=POLICY.reopen_days, seconds=1), POLICY)
    t.reopen(T0 + timedelta(days=1), POLICY)
    assert t.status is TicketStatus.WAITING_STAFF


def test_a_closed_ticket_takes_no_more_actions() -> None:
    t = ticket()
    t.close(T0)
    for action in (lambda: t.close(T0), lambda: t.resolve(T0), lambda: t.member_wrote(T0),
                   lambda: t.staff_replied(T0), t.escalate):
        with pytest.raises(TicketRefused):
            action()


def test_sla_warns_at_80_percent_and_breaches_at_the_due_time() -> None:
    t = ticket()  # first response due after 4 hours
    assert t.sla_stage(T0 + timedelta(hours=3), 0.8) is None
    assert t.sla_stage(T0 + timedelta(hours=3, minutes=12), 0.8) == ("first_response", "warn")
    assert t.sla_stage(T0 + timedelta(hours=4), 0.8) == ("first_response", "breach")
    t.staff_replied(T0 + timedelta(hours=1))
    assert t.sla_stage(T0 + timedelta(hours=5), 0.8) is None  # resolution clock: 48 h
    assert t.sla_stage(T0 + timedelta(hours=48), 0.8) == ("resolution", "breach")
    t.resolve(T0 + timedelta(hours=50))
    assert t.sla_stage(T0 + timedelta(hours=60), 0.8) is None


def test_ticket_numbers_are_what_people_say_on_the_phone() -> None:
    t = ticket()
    t.id = 42
    assert t.number == "T-000042"


def test_the_policy_file_sets_categories_sla_and_canned_replies() -> None:
    policy = ticket_policy_from_mapping({
        "categories": [{"key": "fresh", "name_en": "Fresh food", "name_zh": "生鲜",
                        "priority": "high"}],
        "sla": {"high": {"first_response_hours": 0.5, "resolution_hours": 8}},
        "canned_replies": [{"key": "hi", "text_en": "Hello", "text_zh": "您好"}],
        "reopen_days": 3,
    })
    assert [c.key for c in policy.categories] == ["fresh"]
    assert policy.hours("fresh", Priority.HIGH).first_response == 0.5
    assert policy.canned[0].text("zh") == "您好" and policy.reopen_days == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"categories": [{"name_en": "no key"}]},
        {"sla": {"urgent": {"first_response_hours": 1, "resolution_hours": 2}}},
        {"sla": {"high": {"first_response_hours": 5, "resolution_hours": 2}}},
        {"reminder_share": 1.5},
        {"auto_close_days": 0},
    ],
)
def test_a_wrong_tickets_section_is_refused_with_a_reason(bad: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        ticket_policy_from_mapping(bad)
