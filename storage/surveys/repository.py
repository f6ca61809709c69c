"""The repository of survey invitations and answers: reads, writes and counts; never commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.surveys.model import (
    AnswerCount,
    InvitationCount,
    InvitationStatus,
    LowComment,
    ReceiptDue,
    SurveyAnswer,
    SurveyInvitation,
    SurveyKind,
    Trigger,
    month_of,
)
from storage.common import RowMapping, _chunks, insert_ignoring_duplicates
from storage.loyalty.tables import receipts
from storage.members.tables import members, stores
from storage.surveys.tables import survey_answers, survey_invitations

_invitation = RowMapping(
    SurveyInvitation, survey_invitations,
    enums={"kind": SurveyKind, "trigger": Trigger, "status": InvitationStatus},
).entity
_answer = RowMapping(
    SurveyAnswer, survey_answers, enums={"kind": SurveyKind, "trigger": Trigger}
).entity


def _period(columns: Any, day_from: date, day_to: date) -> list[Any]:
    """Local days day_from..day_to; the months too, so the month-led indexes bound the scan."""
    return [
        columns.month >= month_of(day_from),
        columns.month <= month_of(day_to),
        columns.day >= day_from,
        columns.day <= day_to,
    ]


class SqlSurveyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # -- invitations ------------------------------------------------------------------------

    async def add_invitation(self, invitation: SurveyInvitation) -> SurveyInvitation | None:
        values = {
            "member_id": invitation.member_id,
            "survey_key": invitation.survey_key,
            "kind": invitation.kind.value,
            "trigger": invitation.trigger.value,
            "trigger_ref": invitation.trigger_ref[:64],
            "dedupe_key": invitation.dedupe_key,
            "token": invitation.token,
            "store_id": invitation.store_id,
            "category": invitation.category[:64],
            "chat_user_id": invitation.chat_user_id,
            "status": invitation.status.value,
            "created_at": invitation.created_at,
            "expires_at": invitation.expires_at,
            "answered_at": invitation.answered_at,
            "day": invitation.day,
            "month": month_of(invitation.day),
        }
        statement = insert_ignoring_duplicates(self.conn, survey_invitations).returning(
            survey_invitations.c.id
        )
        new_id = (await self.conn.execute(statement, values)).scalar()
        if new_id is None:
            return None
        invitation.id = int(new_id)
        return invitation

    async def get_invitation(self, invitation_id: int) -> SurveyInvitation | None:
        row = (
            await self.conn.execute(
                select(survey_invitations).where(survey_invitations.c.id == invitation_id)
            )
        ).first()
        return _invitation(row) if row else None

    async def invitations_created_at(self, at: datetime) -> list[SurveyInvitation]:
        rows = await self.conn.execute(
            select(survey_invitations)
            .where(survey_invitations.c.created_at == at)
            .order_by(survey_invitations.c.id)
        )
        return [_invitation(row) for row in rows]

    async def existing_keys(self, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(set(keys))):
            rows = await self.conn.execute(
                select(survey_invitations.c.dedupe_key).where(
                    survey_invitations.c.dedupe_key.in_(chunk)
                )
            )
            found.update(row.dedupe_key for row in rows)
        return found

    async def last_invited(self, member_ids: Iterable[int]) -> dict[int, datetime]:
        return await self._latest(survey_invitations, "created_at", member_ids)

    async def last_answered(self, member_ids: Iterable[int]) -> dict[int, datetime]:
        return await self._latest(survey_answers, "answered_at", member_ids)

    async def _latest(
        self, table: Any, column: str, member_ids: Iterable[int]
    ) -> dict[int, datetime]:
        found: dict[int, datetime] = {}
        for chunk in _chunks(list(set(member_ids))):
            rows = await self.conn.execute(
                select(table.c.member_id, func.max(table.c[column]).label("at"))
                .where(table.c.member_id.in_(chunk))
                .group_by(table.c.member_id)
            )
            # MAX keeps the column's type, so the times come back timezone-aware.
            found.update({row.member_id: row.at for row in rows if row.at is not None})
        return found

    async def mark_answered(self, invitation_id: int, now: datetime) -> bool:
        result = await self.conn.execute(
            update(survey_invitations)
            .where(
                survey_invitations.c.id == invitation_id,
                survey_invitations.c.status == InvitationStatus.INVITED.value,
            )
            .values(status=InvitationStatus.ANSWERED.value, answered_at=now)
        )
        return result.rowcount == 1

    async def receipts_between(self, since: datetime, until: datetime) -> list[ReceiptDue]:
        rows = await self.conn.execute(
            select(
                receipts.c.receipt_no,
                receipts.c.member_id,
                receipts.c.store_id,
                receipts.c.occurred_at,
            ).where(
                receipts.c.occurred_at >= since,
                receipts.c.occurred_at <= until,
                receipts.c.amount_cents > 0,  # refunds are not visits to ask about
            )
        )
        return [
            ReceiptDue(row.receipt_no, row.member_id, row.store_id, row.occurred_at)
            for row in rows
        ]

    async def member_ids(
        self, *, tier: str | None = None, store_id: int | None = None
    ) -> list[int]:
        query = select(members.c.id).order_by(members.c.id)
        if tier is not None:
            query = query.where(members.c.tier == tier)
        if store_id is not None:
            query = query.where(members.c.home_store_id == store_id)
        return [row.id for row in await self.conn.execute(query)]

    # -- answers ----------------------------------------------------------------------------

    async def add_answer(self, answer: SurveyAnswer) -> SurveyAnswer:
        values = {
            "invitation_id": answer.invitation_id,
            "member_id": answer.member_id,
            "survey_key": answer.survey_key,
            "kind": answer.kind.value,
            "score": answer.score,
            "trigger": answer.trigger.value,
            "trigger_ref": answer.trigger_ref[:64],
            "category": answer.category[:64],
            "store_id": answer.store_id,
            "answered_at": answer.answered_at,
            "day": answer.day,
            "month": month_of(answer.day),
            "comment": answer.comment,
            "commented_at": answer.commented_at,
            "recovery_ticket_id": answer.recovery_ticket_id,
        }
        new_id = await self.conn.scalar(
            survey_answers.insert().returning(survey_answers.c.id), values
        )
        answer.id = int(new_id) if new_id is not None else None
        return answer

    async def get_answer(self, invitation_id: int) -> SurveyAnswer | None:
        row = (
            await self.conn.execute(
                select(survey_answers).where(survey_answers.c.invitation_id == invitation_id)
            )
        ).first()
        return _answer(row) if row else None

    async def save_comment(self, answer_id: int, comment: str, now: datetime) -> bool:
        result = await self.conn.execute(
            update(survey_answers)
            .where(survey_answers.c.id == answer_id, survey_answers.c.comment.is_(None))
            .values(comment=comment, commented_at=now)
        )
        return result.rowcount == 1

    async def set_recovery_ticket(self, answer_id: int, ticket_id: int) -> None:
        await self.conn.execute(
            update(survey_answers)
            .where(survey_answers.c.id == answer_id)
            .values(recovery_ticket_id=ticket_id)
        )

    # -- figures ----------------------------------------------------------------------------

    async def answer_counts(
        self, day_from: date, day_to: date, store_id: int | None = None
    ) -> list[AnswerCount]:
        a = survey_answers.c
        # Grouped in the order of ix_survey_answers_report, whose leading month bounds the scan.
        query = (
            select(a.month, a.store_id, a.kind, a.category, a.score, func.count().label("n"))
            .where(*_period(a, day_from, day_to))
            .group_by(a.month, a.store_id, a.kind, a.category, a.score)
        )
        if store_id is not None:
            query = query.where(a.store_id == store_id)
        return [
            AnswerCount(
                row.store_id, row.month, SurveyKind(row.kind), row.category, row.score,
                int(row.n),
            )
            for row in await self.conn.execute(query)
        ]

    async def invitation_counts(
        self, day_from: date, day_to: date, store_id: int | None = None
    ) -> list[InvitationCount]:
        i = survey_invitations.c
        query = (
            select(i.month, i.store_id, i.kind, i.status, func.count().label("n"))
            .where(*_period(i, day_from, day_to))
            .group_by(i.month, i.store_id, i.kind, i.status)
        )
        if store_id is not None:
            query = query.where(i.store_id == store_id)
        counts: dict[tuple[Any, ...], list[int]] = {}
        for row in await self.conn.execute(query):
            group = counts.setdefault((row.store_id, row.month, row.kind), [0, 0])
            group[0] += int(row.n)
            if row.status == InvitationStatus.ANSWERED.value:
                group[1] += int(row.n)
        return [
            InvitationCount(store, month, SurveyKind(kind), invited, answered)
            for (store, month, kind), (invited, answered) in counts.items()
        ]

    async def lowest_comments(self, day_from: date, day_to: date, limit: int) -> list[LowComment]:
        a = survey_answers.c
        # On one footing: CSAT 1..5 and NPS 0..10 as 0..100.
        level = case((a.kind == SurveyKind.CSAT.value, (a.score - 1) * 25), else_=a.score * 10)
        rows = await self.conn.execute(
            select(a.kind, a.score, a.comment, a.answered_at, members.c.member_no, stores.c.code)
            .select_from(
                survey_answers.join(members, members.c.id == a.member_id).outerjoin(
                    stores, stores.c.id == a.store_id
                )
            )
            .where(
                *_period(a, day_from, day_to),
                a.comment.is_not(None),
                a.comment != "",
            )
            .order_by(level, a.answered_at, a.id)
            .limit(limit)
        )
        return [
            LowComment(
                SurveyKind(row.kind), row.score, row.comment, row.answered_at, row.member_no,
                row.code,
            )
            for row in rows
        ]
