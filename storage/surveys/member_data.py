"""The surveys feature's part of a member's footprint: invitations, answers, and their comments
as quoted in the staff's weekly summary."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.shared.member_data import ERASED_TEXT, Export
from storage.common import member_rows, move_member_rows
from storage.members.tables import members
from storage.messaging.tables import outbox
from storage.surveys.tables import survey_answers, survey_invitations

# The weekly summary's outbox rows (dedupe key `survey:weekly:<ISO week>`, see
# domain.surveys.rules.weekly_key) quote the lowest-scored comments, one line each, as
# "• 2/5 CSAT · SH01 · <member no>: “comment”".
WEEKLY_KEYS = "survey:weekly:%"


class SqlSurveysData:
    """Survey invitations and answers of the member.

    Erase keeps invitations and answers with their scores, days and stores (CSAT, NPS and the
    response rate of past months stay what they were reported as) and clears the comment, the
    member's own words; `commented_at` stays, so the count of comments does too. The weekly
    summaries already queued for the staff quote comments with the member number: the member's
    lines there lose the quote.

    Reassign moves invitations and answers to the kept member. One answer per invitation is the
    only uniqueness rule and it does not involve the member; the kept member's frequency limit
    then sees both members' invitations, which is what a limit for one person should do.
    """

    name = "surveys"
    tables: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {"survey_invitations": ("member_id",), "survey_answers": ("member_id",)}
    )

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def export(self, member_id: int) -> Export:
        return {
            table.name: await member_rows(self.conn, table, member_id)
            for table in (survey_invitations, survey_answers)
        }

    async def erase(self, member_id: int) -> int:
        comments = await self.conn.execute(
            update(survey_answers)
            .where(survey_answers.c.member_id == member_id, survey_answers.c.comment.is_not(None))
            .values(comment=None)
        )
        return comments.rowcount + await self._unquote_weekly(member_id)

    async def _unquote_weekly(self, member_id: int) -> int:
        member_no = await self.conn.scalar(
            select(members.c.member_no).where(members.c.id == member_id)
        )
        if member_no is None:
            return 0
        quoted = f" · {member_no}: “"
        rows = await self.conn.execute(
            select(outbox.c.id, outbox.c.params).where(outbox.c.dedupe_key.like(WEEKLY_KEYS))
        )
        changed = 0
        for row in list(rows):
            params: dict[str, Any] = dict(row.params or {})
            comments = params.get("comments")
            if not isinstance(comments, str) or quoted not in comments:
                continue
            params["comments"] = "\n".join(
                line.split(quoted)[0] + f" · {ERASED_TEXT}" if quoted in line else line
                for line in comments.split("\n")
            )
            await self.conn.execute(
                update(outbox).where(outbox.c.id == row.id).values(params=params)
            )
            changed += 1
        return changed

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        return await move_member_rows(
            self.conn, (survey_invitations, survey_answers), from_member_id, to_member_id
        )
