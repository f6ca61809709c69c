"""Surveys' values: kinds, invitations, answers and the counts reports are made of."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.surveys.policy import SurveyDefinition


class SurveyKind(enum.StrEnum):
    CSAT = "csat"  # 1..5
    NPS = "nps"  # 0..10

    @property
    def scale(self) -> range:
        return range(1, 6) if self is SurveyKind.CSAT else range(0, 11)


def is_detractor(kind: SurveyKind, score: int) -> bool:
    """CSAT 1-2 or NPS 0-6: someone should call back."""
    return score <= 2 if kind is SurveyKind.CSAT else score <= 6


def is_promoter(kind: SurveyKind, score: int) -> bool:
    """NPS 9-10 (CSAT has no promoters; 4-5 are 'satisfied')."""
    return kind is SurveyKind.NPS and score >= 9


def check_score(kind: SurveyKind, score: int) -> int:
    if score not in kind.scale:
        raise ValueError(f"{score} is outside the {kind.value.upper()} scale")
    return score


@dataclass(frozen=True)
class Scores:
    """The figures of one group of answers; None where there is nothing to divide by."""

    answers: int
    invited: int
    csat_percent: float | None  # share of 4-5 among CSAT answers, in %
    nps: float | None  # % promoters - % detractors among NPS answers, -100..100
    response_rate: float | None  # answers / invitations, in %
    distribution: dict[int, int]


class Trigger(enum.StrEnum):
    RECEIPT = "receipt"
    TICKET = "ticket"
    SEGMENT = "segment"


class Mood(enum.StrEnum):
    """How an answer is acted on."""

    DETRACTOR = "detractor"  # CSAT 1-2, NPS 0-6: someone calls back
    PROMOTER = "promoter"  # NPS 9-10: thanked, maybe asked to recommend us
    NEUTRAL = "neutral"


def mood_of(kind: SurveyKind, score: int) -> Mood:
    if is_detractor(kind, score):
        return Mood.DETRACTOR
    if is_promoter(kind, score):
        return Mood.PROMOTER
    return Mood.NEUTRAL


# -- calendar buckets -------------------------------------------------------------------------


def month_of(day: date) -> str:
    """'2026-06': answers and invitations are counted by the chain's local month."""
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class AnswerCount:
    """One group of answers as the database counts them."""

    store_id: int | None
    month: str
    kind: SurveyKind
    category: str
    score: int
    count: int


@dataclass(frozen=True)
class InvitationCount:
    """Invitations of one store, month and kind, and how many of them were answered."""

    store_id: int | None
    month: str
    kind: SurveyKind
    invited: int
    answered: int


@dataclass(frozen=True)
class LowComment:
    """A comment for the weekly summary, with who gave it and where."""

    kind: SurveyKind
    score: int
    comment: str
    answered_at: datetime
    member_no: str
    store_code: str | None


class InvitationStatus(enum.StrEnum):
    INVITED = "invited"
    ANSWERED = "answered"


@dataclass
class SurveyInvitation:
    """One member asked one survey, for one reason."""

    member_id: int
    survey_key: str
    kind: SurveyKind
    trigger: Trigger
    trigger_ref: str  # the receipt number, the ticket id, the segment's label
    dedupe_key: str
    token: str  # the check in the buttons' data
    created_at: datetime
    expires_at: datetime
    day: date  # the chain's local day it was made, for the figures
    store_id: int | None = None
    category: str = ""  # "purchase", the ticket's category, the segment's label
    chat_user_id: int | None = None
    status: InvitationStatus = InvitationStatus.INVITED
    answered_at: datetime | None = None
    id: int | None = None

    @property
    def month(self) -> str:
        return month_of(self.day)

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass
class SurveyAnswer:
    """A member's score, and their comment once given; copies the invitation's trigger."""

    invitation_id: int
    member_id: int
    survey_key: str
    kind: SurveyKind
    score: int
    trigger: Trigger
    trigger_ref: str
    category: str
    answered_at: datetime
    day: date
    store_id: int | None = None
    comment: str | None = None
    commented_at: datetime | None = None
    recovery_ticket_id: int | None = None
    id: int | None = None

    @property
    def month(self) -> str:
        return month_of(self.day)

    @property
    def mood(self) -> Mood:
        return mood_of(self.kind, self.score)


@dataclass(frozen=True)
class ReceiptDue:
    """A recent sale, as the invitation job sees it."""

    receipt_no: str
    member_id: int
    store_id: int
    occurred_at: datetime


@dataclass
class InvitationRun:
    """What one run of inviting did, for `retailbot jobs list` and the CLI."""

    considered: int = 0
    invited: int = 0
    limited: int = 0  # asked recently (the frequency limit)
    unreachable: int = 0  # no chat, sent /stop, or no consent for a marketing survey
    repeated: int = 0  # invited for this before
    more: bool = False
    members: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.considered} considered: {self.invited} invited, {self.limited} asked "
            f"recently, {self.unreachable} unreachable, {self.repeated} invited before"
        )

    def add(self, other: InvitationRun) -> None:
        self.considered += other.considered
        self.invited += other.invited
        self.limited += other.limited
        self.unreachable += other.unreachable
        self.repeated += other.repeated
        self.members.extend(other.members)


# -- answering ------------------------------------------------------------------------------


class AnswerStatus(enum.StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"  # a second tap: the first answer stands
    EXPIRED = "expired"
    NOT_YOURS = "not_yours"  # another member's invitation, or forged button data
    UNKNOWN = "unknown"  # no such invitation, or its survey left the policy


@dataclass(frozen=True)
class AnswerOutcome:
    status: AnswerStatus
    invitation: SurveyInvitation | None = None
    answer: SurveyAnswer | None = None
    definition: SurveyDefinition | None = None
    recovery_ticket: str | None = None  # the number of the call-back ticket, if one opened
