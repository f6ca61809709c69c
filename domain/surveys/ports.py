"""What surveys need from outside: their repository and a chart drawer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from domain.surveys.model import AnswerCount, InvitationCount, LowComment

if TYPE_CHECKING:  # these modules use the unit of work themselves
    from domain.surveys.model import (
        AnswerCount,
        InvitationCount,
        LowComment,
        ReceiptDue,
        SurveyAnswer,
        SurveyInvitation,
        SurveyKind,
    )
    from domain.surveys.views import StoreBar, TrendPoint

class SurveyRepository(Protocol):
    """Survey invitations and answers, and the counts the report is made of."""

    async def add_invitation(self, invitation: SurveyInvitation) -> SurveyInvitation | None:
        """Insert unless its dedupe key was used before (then None)."""
        ...

    async def get_invitation(self, invitation_id: int) -> SurveyInvitation | None: ...
    async def invitations_created_at(self, at: datetime) -> list[SurveyInvitation]:
        """The invitations made at exactly `at` (one run of a job or a wave), oldest first."""
        ...

    async def existing_keys(self, keys: Iterable[str]) -> set[str]: ...
    async def last_invited(self, member_ids: Iterable[int]) -> dict[int, datetime]: ...
    async def last_answered(self, member_ids: Iterable[int]) -> dict[int, datetime]: ...
    async def mark_answered(self, invitation_id: int, now: datetime) -> bool:
        """Only if still unanswered: of two taps at once, one gets True."""
        ...

    async def receipts_between(self, since: datetime, until: datetime) -> list[ReceiptDue]:
        """Sales (no refunds) made in [since, until]: the invitation job's candidates."""
        ...

    async def member_ids(
        self, *, tier: str | None = None, store_id: int | None = None
    ) -> list[int]: ...
    async def add_answer(self, answer: SurveyAnswer) -> SurveyAnswer: ...
    async def get_answer(self, invitation_id: int) -> SurveyAnswer | None: ...
    async def save_comment(self, answer_id: int, comment: str, now: datetime) -> bool: ...
    async def set_recovery_ticket(self, answer_id: int, ticket_id: int) -> None: ...
    async def answer_counts(
        self, day_from: date, day_to: date, store_id: int | None = None
    ) -> list[AnswerCount]:
        """Answers of local days day_from..day_to per store, month, kind, category, score."""
        ...

    async def invitation_counts(
        self, day_from: date, day_to: date, store_id: int | None = None
    ) -> list[InvitationCount]: ...
    async def lowest_comments(
        self, day_from: date, day_to: date, limit: int
    ) -> list[LowComment]: ...


class SurveyCharts(Protocol):
    """Draws the report's charts as PNG bytes, with `title` in the picture and its metadata."""

    def nps_trend(self, points: Sequence[TrendPoint], title: str) -> bytes: ...
    def csat_by_store(self, bars: Sequence[StoreBar], title: str) -> bytes: ...
    def distribution(
        self, counts: Mapping[SurveyKind, Mapping[int, int]], title: str
    ) -> bytes: ...
