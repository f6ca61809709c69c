"""Complaint tickets: statuses and who may move them, SLA clocks, the thread and its audit."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.errors import DomainError, PolicyError


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


class Priority(enum.StrEnum):
    NORMAL = "normal"
    HIGH = "high"


class TicketRefused(DomainError):
    """A ticket action that its status or the person's role does not allow."""

    key = "ticket.refused"


@dataclass(frozen=True)
class SlaHours:
    """Hours to the first staff answer and to resolution."""

    first_response: float
    resolution: float


@dataclass(frozen=True)
class TicketCategory:
    key: str
    name_en: str
    name_zh: str
    priority: Priority = Priority.NORMAL

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class CannedReply:
    key: str
    text_en: str
    text_zh: str

    def text(self, lang: str) -> str:
        return self.text_zh if lang == "zh" else self.text_en


DEFAULT_CATEGORIES = (
    TicketCategory("quality", "Product quality", "商品质量", Priority.HIGH),
    TicketCategory("service", "Service", "服务态度"),
    TicketCategory("billing", "Price / billing", "价格 / 结账"),
    TicketCategory("delivery", "Delivery", "配送"),
    TicketCategory("other", "Other", "其他"),
)

DEFAULT_SLA = {
    Priority.NORMAL: SlaHours(first_response=4, resolution=48),
    Priority.HIGH: SlaHours(first_response=1, resolution=24),
}

DEFAULT_CANNED = (
    CannedReply(
        "sorry",
        "We are sorry for the trouble. A colleague is looking into it and will get back to you.",
        "非常抱歉给您带来不便，同事正在处理，会尽快回复您。",
    ),
    CannedReply(
        "refund",
        "We have arranged a refund; it reaches your account within 3 working days.",
        "我们已为您安排退款，3 个工作日内到账。",
    ),
    CannedReply(
        "visit",
        "Please bring the item and your receipt to the service desk of any store.",
        "请携带商品和小票到任一门店服务台办理。",
    ),
)


@dataclass(frozen=True)
class TicketPolicy:
    """The helpdesk rules of the policy file ([tickets])."""

    categories: tuple[TicketCategory, ...] = DEFAULT_CATEGORIES
    sla: Mapping[Priority, SlaHours] = field(default_factory=lambda: dict(DEFAULT_SLA))
    # per category overrides of the SLA: {"quality": SlaHours(...)}
    category_sla: Mapping[str, SlaHours] = field(default_factory=dict)
    reminder_share: float = 0.8  # remind the assignee at this share of the SLA time
    reopen_days: int = 7  # a resolved ticket can be reopened by the member this long
    member_reminder_days: int = 2  # waiting on the member: remind after this long
    auto_close_days: int = 5  # waiting on the member: close after this long
    follow_up_days: int = 3  # check in with the member this long after closing
    canned: tuple[CannedReply, ...] = DEFAULT_CANNED
    staff_language: str = "en"  # of what the bot writes in the staff group ("zh" or "en")

    def category(self, key: str) -> TicketCategory | None:
        return next((c for c in self.categories if c.key == key), None)

    def hours(self, category: str, priority: Priority) -> SlaHours:
        return self.category_sla.get(category) or self.sla.get(priority) or DEFAULT_SLA[priority]


def ticket_policy_from_mapping(data: Mapping[str, Any]) -> TicketPolicy:
    """Read [tickets] of the policy file; raise PolicyError naming the key that is wrong."""
    default = TicketPolicy()
    categories = tuple(
        TicketCategory(
            key=str(raw["key"]),
            name_en=str(raw.get("name_en", raw["key"])),
            name_zh=str(raw.get("name_zh", raw.get("name_en", raw["key"]))),
            priority=_priority(raw.get("priority", "normal"), f"tickets.categories[{i}]"),
        )
        for i, raw in enumerate(data.get("categories", []))
        if _has_key(raw, f"tickets.categories[{i}]")
    )
    sla = dict(DEFAULT_SLA)
    for name, raw in dict(data.get("sla", {})).items():
        sla[_priority(name, "tickets.sla")] = _sla(raw, f"tickets.sla.{name}")
    category_sla = {
        str(name): _sla(raw, f"tickets.category_sla.{name}")
        for name, raw in dict(data.get("category_sla", {})).items()
    }
    canned = tuple(
        CannedReply(str(raw["key"]), str(raw.get("text_en", "")),
                    str(raw.get("text_zh", raw.get("text_en", ""))))
        for i, raw in enumerate(data.get("canned_replies", []))
        if _has_key(raw, f"tickets.canned_replies[{i}]")
    )
    share = float(data.get("reminder_share", default.reminder_share))
    if not 0 < share < 1:
        raise PolicyError("tickets.reminder_share must be between 0 and 1, such as 0.8")
    for kind, keys in (("categories", [c.key for c in categories]),
                       ("canned_replies", [c.key for c in canned])):
        for key in keys:
            # Keys travel in button data, which Telegram limits to 64 bytes.
            if not _KEY.fullmatch(key):
                raise PolicyError(
                    f"tickets.{kind}: key {key!r} must be 1-24 lower-case letters, digits or _"
                )
        if len(set(keys)) != len(keys):
            raise PolicyError(f"tickets.{kind}: every key must be different")
    staff_language = str(data.get("staff_language", default.staff_language))
    if staff_language not in ("zh", "en"):
        raise PolicyError(f"tickets.staff_language must be 'zh' or 'en', not {staff_language!r}")
    reminder = _days(data, "member_reminder_days", default.member_reminder_days)
    auto_close = _days(data, "auto_close_days", default.auto_close_days)
    if reminder >= auto_close:
        raise PolicyError(
            "tickets.member_reminder_days must be fewer than tickets.auto_close_days: the "
            "reminder comes before the ticket closes"
        )
    return TicketPolicy(
        categories=categories or default.categories,
        sla=sla,
        category_sla=category_sla,
        reminder_share=share,
        reopen_days=_days(data, "reopen_days", default.reopen_days),
        member_reminder_days=reminder,
        auto_close_days=auto_close,
        follow_up_days=_days(data, "follow_up_days", default.follow_up_days),
        canned=canned or default.canned,
        staff_language=staff_language,
    )


_KEY = re.compile(r"[a-z0-9_]{1,24}")


def _has_key(raw: Mapping[str, Any], where: str) -> bool:
    if "key" not in raw:
        raise PolicyError(f"{where} needs a key")
    return True


def _priority(raw: Any, where: str) -> Priority:
    try:
        return Priority(str(raw))
    except ValueError as exc:
        raise PolicyError(f"{where}: priority must be 'normal' or 'high', not {raw!r}") from exc


def _sla(raw: Mapping[str, Any], where: str) -> SlaHours:
    try:
        hours = SlaHours(float(raw["first_response_hours"]), float(raw["resolution_hours"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"{where} needs first_response_hours and resolution_hours") from exc
    if hours.first_response <= 0 or hours.resolution < hours.first_response:
        raise PolicyError(f"{where}: hours must be positive, resolution after first response")
    return hours


def _days(data: Mapping[str, Any], name: str, default: int) -> int:
    value = int(data.get(name, default))
    if value < 1:
        raise PolicyError(f"tickets.{name} must be at least 1 day")
    return value


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
    # What the follow-up job has done, so it does nothing twice (see domain.ticketing):
    sla_notified: str = ""  # the last SLA alert queued, "first_response:warn"...
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
        clock = self.sla_clock(policy.reminder_share)
        if clock is not None:
            name, warn_at, due_at = clock
            if self.sla_notified not in (f"{name}:warn", f"{name}:breach"):
                moments.append(warn_at)
            elif self.sla_notified == f"{name}:warn":
                moments.append(due_at)
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

        None when no clock runs (answered and resolved, or closed) or it is early.
        """
        if not self.status.is_active:
            return None
        if self.first_responded_at is None:
            clock, due = "first_response", self.first_response_due
        else:
            clock, due = "resolution", self.resolution_due
        if at >= due:
            return clock, "breach"
        if at >= self.created_at + (due - self.created_at) * share:
            return clock, "warn"
        return None


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
        description=text[:4000],
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
