"""Callbacks (回访): who is called back and why, where it stands, and each outcome in the log."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from domain.shared.errors import DomainError


class Rule(enum.StrEnum):
    """Why a member is called back; the policy gives each rule its channel and priority."""

    COMPLAINT = "complaint"  # a complaint ticket was resolved
    DETRACTOR = "detractor"  # a survey detractor's recovery ticket was resolved
    NEW_MEMBER = "new_member"  # some days after the first purchase
    GONE_QUIET = "gone_quiet"  # a valuable member moved to at risk or lapsed
    VIP = "vip"  # regularly, for the top tier


class Channel(enum.StrEnum):
    CHECKIN = "checkin"  # the bot asks the member with quick-answer buttons
    CALL = "call"  # the member goes into the staff call queue


class CallbackStatus(enum.StrEnum):
    CHECKIN = "checkin"  # the check-in is queued or sent; waiting for the member's tap
    QUEUED = "queued"  # in the staff call queue, due at `due_at`
    DONE = "done"  # closed with an outcome


class Outcome(enum.StrEnum):
    """What happened; each is one row of the callback log."""

    ALL_GOOD = "all_good"  # reached: all good
    PROBLEM = "problem"  # reached: a problem (a ticket is opened)
    REASON = "reason"  # a gone-quiet member told us why, in one tap
    NO_ANSWER = "no_answer"  # the call was not picked up: retried later
    WRONG_NUMBER = "wrong_number"  # the phone is flagged for review
    CALL_AGAIN = "call_again"  # the member asked to be called at another time
    DO_NOT_CALL = "do_not_call"  # the member asks not to be called again
    UNREACHABLE = "unreachable"  # closed: no answer after every attempt, or no way to reach
    NO_REPLY = "no_reply"  # a check-in nobody answered, and the rule has no call fallback
    FALLBACK = "fallback"  # a check-in moved to the call queue (not a final outcome)
    SUPERSEDED = "superseded"  # a callback of a rule with higher priority took its place


# Outcomes where somebody spoke to the member (or the member answered the bot).
REACHED = frozenset({Outcome.ALL_GOOD, Outcome.PROBLEM, Outcome.REASON, Outcome.DO_NOT_CALL})
# The outcome buttons of the call queue, in the order staff see them.
STAFF_OUTCOMES = (
    Outcome.ALL_GOOD, Outcome.PROBLEM, Outcome.NO_ANSWER, Outcome.WRONG_NUMBER,
    Outcome.CALL_AGAIN, Outcome.DO_NOT_CALL,
)


class Reason(enum.StrEnum):
    """Why a member went quiet, in one tap."""

    MOVED = "moved"
    PRICES = "prices"
    QUALITY = "quality"
    SERVICE = "service"
    BUSY = "busy"
    OTHER = "other"


class FlagKind(enum.StrEnum):
    """What stops calls to a member: they asked, or the number is wrong (under review)."""

    DO_NOT_CALL = "do_not_call"
    WRONG_NUMBER = "wrong_number"


class CallbackRefused(DomainError):
    """A callback action its status or the person's role does not allow."""

    key = "callbacks.refused"


@dataclass
class Callback:
    """One member to be called back, for one rule."""

    member_id: int
    rule: Rule
    channel: Channel
    status: CallbackStatus
    dedupe_key: str  # one callback per trigger: "complaint:ticket:42", "vip:7:2026-06-15"
    created_at: datetime
    due_at: datetime
    context: str = ""  # what the call is about, for staff: a ticket number
    category: str = ""  # the ticket category a reported problem goes to
    store_id: int | None = None
    checkin_until: datetime | None = None  # a check-in unanswered by then falls back
    checkin_queued_at: datetime | None = None  # when the check-in went to the outbox
    assignee_id: int | None = None  # staff id
    attempts: int = 0  # calls nobody answered
    outcome: Outcome | None = None
    reason: str = ""  # a Reason, for gone quiet
    closed_at: datetime | None = None
    reminded: str = ""  # "", "assignee", "managers": the overdue reminders queued
    id: int | None = None

    @property
    def number(self) -> str:
        """How staff name it: 'C-42'."""
        return f"C-{self.id or 0}"

    @property
    def is_open(self) -> bool:
        return self.status is not CallbackStatus.DONE

    def close(self, outcome: Outcome, at: datetime, reason: str = "") -> None:
        if not self.is_open:
            raise CallbackRefused(f"{self.number} is closed", key="callbacks.closed",
                                  number=self.number)
        self.status = CallbackStatus.DONE
        self.outcome = outcome
        self.reason = reason
        self.closed_at = at

    def to_call_queue(self, due: datetime) -> None:
        """A check-in becomes a call: due now, nobody holds it yet."""
        self.status = CallbackStatus.QUEUED
        self.due_at = due
        self.checkin_until = None
        self.reminded = ""


@dataclass
class LogEntry:
    """One row of the callback log: who did what, when (and an optional note)."""

    callback_id: int
    member_id: int
    at: datetime
    actor: str  # staff:<telegram id>, member:<id>, system
    outcome: Outcome
    reason: str = ""
    note: str = ""
    call_again_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class Candidate:
    """A member a scheduled rule selected: when their callback is due and where they shop."""

    member_id: int
    due_at: datetime
    store_id: int | None
    tier: str = ""


@dataclass(frozen=True)
class CallMember:
    """What callbacks read of a member: who to call (number, name, phone) and what scheduling
    looks at (home store, /stop). Read for many members at once (a call list, a slice)."""

    id: int
    member_no: str
    name: str
    phone: str | None
    home_store_id: int | None
    opted_out_at: datetime | None


@dataclass(frozen=True)
class ReportRow:
    """A callback as the report counts it."""

    id: int
    member_id: int
    rule: Rule
    store_id: int | None
    due_at: datetime
    status: CallbackStatus
    outcome: Outcome | None
    reason: str
    closed_at: datetime | None
    closed_by: str  # the actor of the closing log row ("" when open)


@dataclass
class CallbackRun:
    """What one run of the callbacks job did."""

    created: dict[str, int] = field(default_factory=dict)
    checkins: int = 0
    fell_back: int = 0
    no_reply: int = 0
    reminded: int = 0

    def add(self, rule: Rule) -> None:
        self.created[rule.value] = self.created.get(rule.value, 0) + 1

    def summary(self) -> str:
        made = ", ".join(f"{n} {rule}" for rule, n in sorted(self.created.items())) or "none"
        return (
            f"callbacks scheduled: {made}; {self.checkins} check-in(s) queued, "
            f"{self.fell_back} moved to the call "
            f"queue, {self.no_reply} closed unanswered; {self.reminded} overdue reminder(s)"
        )
