"""Complaint tickets: statuses and who may move them, SLA clocks, the thread and its audit."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.shared.errors import DomainError

if TYPE_CHECKING:
    from domain.tickets.policy import TicketPolicy


class TicketStatus(enum.StrEnum):
    OPEN = "open"  # new, nobody answered yet
    WAITING_STAFF = "waiting_staff"  # the member wrote last
    WAITING_MEMBER = "waiting_member"  # staff answered and wait for the member
    RESOLVED = "resolved"  # staff consider it solved; the member may reopen for a while
    CLOSED = "closed"  # final

    @property
    def is_active(self) -> bool:
        return self not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


ACTIVE_STATUSES = tuple(s for s in TicketStatus if s.is_active)
TEXT_MAX = 4000  # characters kept of a description or a thread message (Telegram sends 4096)


class Priority(enum.StrEnum):
    NORMAL = "normal"
    HIGH = "high"


class TicketRefused(DomainError):
    """A ticket action that its status or the person's role does not allow."""

    key = "ticket.refused"


FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
SLA_CLOCKS = (FIRST_RESPONSE, RESOLUTION)
SLA_LEVELS = ("warn", "breach", "escalate")
# Short codes keep every alert of both clocks within the sla_notified column (32 characters).
_SLA_CODES = {
    f"{clock[0]}{level[0]}": (clock, level) for clock in SLA_CLOCKS for level in SLA_LEVELS
}


@dataclass
class Ticket:
    """A member's complaint and where it stands."""

    member_id: int
    category: str
    description: str
    created_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    priority: Priority = Priority.NORMAL
    status: TicketStatus = TicketStatus.OPEN
    store_id: int | None = None
    assignee_id: int | None = None  # staff id
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    waiting_since: datetime | None = None  # when it started waiting on the member
    tags: tuple[str, ...] = ()
    updated_at: datetime | None = None
    close_reason: str = ""  # "staff", "no_answer" (the member went silent), "resolved"
    escalated_at: datetime | None = None
    satisfaction: int | None = None  # the member's 1-5 answer once it is closed
    rated_at: datetime | None = None
    # What the follow-up job has done, so it does nothing twice (see domain.tickets.services):
    sla_notified: str = ""  # the SLA alerts queued, as codes: "fw,fb,rw" (see sla_told)
    member_reminded_at: datetime | None = None  # in the current waiting period
    followed_up_at: datetime | None = None  # the check-in after closing
    next_check_at: datetime | None = None  # when the job must look again (None: never)
    id: int | None = None

    @property
    def number(self) -> str:
        """What people say on the phone: 'T-000042'."""
        return self.number_of(self.id or 0)

    @staticmethod
    def number_of(ticket_id: int) -> str:
        return f"T-{ticket_id:06d}"

    # --- what people do -----------------------------------------------------------------

    def member_wrote(self, at: datetime) -> None:
        """A member message brings a waiting ticket back to staff."""
        if not self.status.is_active:
            raise TicketRefused(f"ticket {self.number} is {self.status.value}",
                                key="ticket.not_active", number=self.number)
        if self.status is TicketStatus.WAITING_MEMBER:
            self.status = TicketStatus.WAITING_STAFF
        self.waiting_since = None

    def staff_replied(self, at: datetime) -> None:
        if self.status is TicketStatus.CLOSED:
            raise TicketRefused(f"ticket {self.number} is closed", key="ticket.closed",
                                number=self.number)
        if self.first_responded_at is None:
            self.first_responded_at = at
        if self.status is not TicketStatus.RESOLVED:
            self.status = TicketStatus.WAITING_MEMBER
            self.waiting_since = at
            self.member_reminded_at = None  # a new wait: it earns its own reminder

    def resolve(self, at: datetime) -> None:
        if not self.status.is_active:
            raise TicketRefused(f"ticket {self.number} is {self.status.value}",
                                key="ticket.not_active", number=self.number)
        self.status = TicketStatus.RESOLVED
        self.resolved_at = at
        self.waiting_since = None

    def can_reopen(self, at: datetime, policy: TicketPolicy) -> bool:
        return (
            self.status is TicketStatus.RESOLVED
            and self.resolved_at is not None
            and at <= self.resolved_at + timedelta(days=policy.reopen_days)
        )

    def reopen(self, at: datetime, policy: TicketPolicy) -> None:
        if not self.can_reopen(at, policy):
            raise TicketRefused(f"ticket {self.number} cannot be reopened",
                                key="ticket.cannot_reopen", number=self.number,
                                days=policy.reopen_days)
        self.status = TicketStatus.WAITING_STAFF
        self.resolved_at = None

    def close(self, at: datetime, reason: str = "staff") -> None:
        if self.status is TicketStatus.CLOSED:
            raise TicketRefused(f"ticket {self.number} is closed", key="ticket.closed",
                                number=self.number)
        self.status = TicketStatus.CLOSED
        self.closed_at = at
        self.close_reason = reason
        self.waiting_since = None

    def escalate(self, at: datetime | None = None) -> None:
        if not self.status.is_active:
            raise TicketRefused(f"ticket {self.number} is {self.status.value}",
                                key="ticket.not_active", number=self.number)
        self.priority = Priority.HIGH
        self.escalated_at = self.escalated_at or at

    def rate(self, score: int, at: datetime) -> None:
        """The member's satisfaction, 1 to 5, once the ticket is closed; a new answer counts."""
        if self.status is not TicketStatus.CLOSED:
            raise TicketRefused(f"ticket {self.number} is not closed", key="ticket.not_closed",
                                number=self.number)
        if not 1 <= score <= 5:
            raise TicketRefused(f"{score} is no rating from 1 to 5", key="button.expired")
        self.satisfaction = score
        self.rated_at = at

    # --- clocks ---------------------------------------------------------------------------

    @property
    def sla_due(self) -> datetime | None:
        """When the SLA clock that runs now is due; None once resolved or closed."""
        if not self.status.is_active:
            return None
        return self.first_response_due if self.first_responded_at is None else self.resolution_due

    # Both SLA clocks run from the moment a ticket opens, each with three alerts: a warning at
    # `share` of its time, the breach at its due time, and an escalation to the admins when the
    # breach stays unanswered for another SLA period. Each alert is said once.
    def sla_running(self, clock: str) -> bool:
        """The first-response clock runs until the first answer, the resolution clock until
        the ticket is resolved; neither runs on a resolved or closed ticket."""
        if not self.status.is_active:
            return False
        return self.first_responded_at is None if clock == FIRST_RESPONSE else True

    def sla_moments(self, clock: str, share: float) -> dict[str, datetime]:
        """When `clock` warns, breaches and escalates."""
        due = self.first_response_due if clock == FIRST_RESPONSE else self.resolution_due
        period = due - self.created_at
        return {"warn": self.created_at + period * share, "breach": due,
                "escalate": due + period}

    def sla_told(self) -> set[tuple[str, str]]:
        """The (clock, level) alerts already queued. Rows written before both clocks ran from
        the start hold one "clock:level" value: it and everything before it was said."""
        raw = self.sla_notified
        if ":" in raw:
            clock, _, level = raw.partition(":")
            said = {(clock, lv) for lv in SLA_LEVELS[: SLA_LEVELS.index(level) + 1]
                    if level in SLA_LEVELS}
            if clock == RESOLUTION:  # the first answer had come, or that clock never started
                said |= {(FIRST_RESPONSE, lv) for lv in SLA_LEVELS}
            return said
        return {_SLA_CODES[code] for code in raw.split(",") if code in _SLA_CODES}

    def sla_tell(self, clock: str, level: str) -> None:
        """Remember that this alert was queued (and, for a breach, that its warning is moot)."""
        said = self.sla_told() | {(clock, level)}
        if level != "warn":
            said.add((clock, "warn"))  # a warning is never sent after the breach alert
        codes = {v: k for k, v in _SLA_CODES.items()}
        self.sla_notified = ",".join(sorted(codes[item] for item in said))

    def sla_alerts_due(self, at: datetime, share: float) -> list[tuple[str, str]]:
        """The alerts due by `at` and not yet said, first-response clock first. A warning whose
        breach is due too is skipped: a run after a pause says only what still matters."""
        said = self.sla_told()
        due: list[tuple[str, str]] = []
        for clock in SLA_CLOCKS:
            if not self.sla_running(clock):
                continue
            moments = self.sla_moments(clock, share)
            reached = [lv for lv in SLA_LEVELS if moments[lv] <= at and (clock, lv) not in said]
            if "breach" in reached or (clock, "breach") in said:
                reached = [lv for lv in reached if lv != "warn"]
            due += [(clock, lv) for lv in reached]
        return due

    def sla_clock(self, share: float) -> tuple[str, datetime, datetime] | None:
        """The running clock: its name, when to warn (at `share` of its time) and when due."""
        due = self.sla_due
        if due is None:
            return None
        name = "first_response" if self.first_responded_at is None else "resolution"
        return name, self.created_at + (due - self.created_at) * share, due

    def next_check(self, policy: TicketPolicy) -> datetime | None:
        """The next moment the follow-up job has something to do for this ticket: an SLA
        warning or breach not yet announced, a reminder to the member or closing a ticket the
        member left waiting, closing a resolved ticket nobody reopened, the check-in after
        closing. None when nothing is left to do, ever."""
        moments: list[datetime] = []
        said = self.sla_told()
        for clock in SLA_CLOCKS:
            if self.sla_running(clock):
                planned = self.sla_moments(clock, policy.reminder_share)
                moments += [planned[lv] for lv in SLA_LEVELS if (clock, lv) not in said]
        if self.status is TicketStatus.WAITING_MEMBER and self.waiting_since is not None:
            if self.member_reminded_at is None:
                moments.append(self.waiting_since + timedelta(days=policy.member_reminder_days))
            moments.append(self.waiting_since + timedelta(days=policy.auto_close_days))
        if self.status is TicketStatus.RESOLVED and self.resolved_at is not None:
            moments.append(self.resolved_at + timedelta(days=policy.reopen_days))
        if (
            self.status is TicketStatus.CLOSED
            and self.closed_at is not None
            and self.followed_up_at is None
        ):
            moments.append(self.closed_at + timedelta(days=policy.follow_up_days))
        return min(moments) if moments else None

    def sla_stage(self, at: datetime, share: float) -> tuple[str, str] | None:
        """Which SLA clock runs and how far: ('first_response'/'resolution', 'warn'/'breach').

        None when no clock runs (answered and resolved, or closed) or it is early. Both clocks
        run from the start; the more urgent stage is shown, the first answer first on a tie.
        """
        stages = []
        for clock in SLA_CLOCKS:
            if not self.sla_running(clock):
                continue
            moments = self.sla_moments(clock, share)
            if at >= moments["breach"]:
                stages.append((2, clock, "breach"))
            elif at >= moments["warn"]:
                stages.append((1, clock, "warn"))
        if not stages:
            return None
        best = max(stages, key=lambda s: (s[0], s[1] == FIRST_RESPONSE))
        return best[1], best[2]


def new_ticket(
    *,
    member_id: int,
    category: str,
    description: str,
    at: datetime,
    policy: TicketPolicy,
    store_id: int | None = None,
    tags: tuple[str, ...] = (),
) -> Ticket:
    """Open a ticket with its SLA clocks set from the category's priority."""
    found = policy.category(category)
    if found is None:
        raise TicketRefused(f"unknown category {category!r}", key="ticket.bad_category")
    text = description.strip()
    if not text:
        raise TicketRefused("a ticket needs a description", key="complaint.ask_description")
    hours = policy.hours(category, found.priority)
    return Ticket(
        member_id=member_id,
        category=category,
        description=text[:TEXT_MAX],
        created_at=at,
        updated_at=at,
        first_response_due=at + timedelta(hours=hours.first_response),
        resolution_due=at + timedelta(hours=hours.resolution),
        priority=found.priority,
        store_id=store_id,
        tags=tags,
    )


class Author(enum.StrEnum):
    MEMBER = "member"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True)
class TicketMessage:
    """One entry of a ticket's thread; internal notes are never shown to the member."""

    ticket_id: int
    author: Author
    text: str
    at: datetime
    author_id: int | None = None  # member id or staff id
    photo_file_id: str | None = None
    internal: bool = False
    id: int | None = None


@dataclass(frozen=True)
class QueueCounts:
    """The size of the staff's queue: active tickets, past their SLA, with nobody on them."""

    active: int
    breached: int
    unassigned: int


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which ticket or member, and when: every staff action leaves one."""

    actor: str  # "staff:12", "system", "cli"
    action: str  # "ticket.reply", "ticket.note", "member.view"...
    at: datetime
    ticket_id: int | None = None
    member_id: int | None = None
    detail: str = ""
    id: int | None = None


# -- who and where ------------------------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    """Where the staff work: the staff group chat, and the admins named in the settings."""

    staff_chat_id: str | None = None
    admin_ids: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, staff_chat_id: object, admin_ids: object) -> Desk:
        chat = str(staff_chat_id) if staff_chat_id not in (None, "") else None
        admins = (
            frozenset(str(i) for i in admin_ids)
            if isinstance(admin_ids, (tuple, list, set, frozenset))
            else frozenset()
        )
        return cls(chat, admins)


# -- the staff's side ---------------------------------------------------------------------


class StaffAction(enum.StrEnum):
    TAKE = "take"
    RESOLVE = "resolve"
    CLOSE = "close"
    ESCALATE = "escalate"


# -- follow-ups -----------------------------------------------------------------------------


@dataclass
class FollowUpRun:
    """What one run of the follow-up job queued, for `retailbot jobs list`."""

    checked: int = 0
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    member_reminders: int = 0
    auto_closed: int = 0
    follow_ups: int = 0

    def summary(self) -> str:
        return (
            f"{self.checked} tickets checked: {self.warned} SLA reminders, {self.breached} "
            f"breach alerts, {self.escalated} escalations, {self.member_reminders} member "
            f"reminders, {self.auto_closed} "
            f"closed automatically, {self.follow_ups} check-ins"
        )
