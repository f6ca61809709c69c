"""What surveys tell other features: an answer was recorded, a comment was added to it."""

from __future__ import annotations

from dataclasses import dataclass

from domain.shared.events import Event
from domain.surveys.model import SurveyKind, Trigger


@dataclass(frozen=True)
class SurveyAnswered(Event):
    """A member answered a survey. `recovery` says the answer asks for a call back (a
    detractor, with recovery on in the policy); the desk opens a ticket with
    `recovery_category` and `recovery_description` then."""

    answer_id: int
    member_id: int
    kind: SurveyKind
    score: int
    trigger: Trigger
    trigger_ref: str
    store_id: int | None
    recovery: bool = False
    recovery_category: str = ""
    recovery_description: str = ""


@dataclass(frozen=True)
class SurveyCommented(Event):
    """A member added a comment to their answer; `recovery_ticket_id` is its call-back ticket."""

    answer_id: int
    member_id: int
    comment: str
    recovery_ticket_id: int | None
