"""The callbacks repository: callbacks, their log and flags, and what the rules and the report
read (joining the members and receipts tables, never their repositories). Never commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.callbacks.model import (
    Callback,
    CallbackStatus,
    CallMember,
    Candidate,
    Channel,
    FlagKind,
    LogEntry,
    Outcome,
    ReportRow,
    Rule,
)
from storage.callbacks.tables import callback_flags, callback_log, callbacks
from storage.common import (
    RowMapping,
    _chunks,
    from_cents,
    insert_ignoring_duplicates,
    row_by_id,
    update_by_id,
)
from storage.loyalty.tables import receipts
from storage.members.tables import members

CALLBACK_ROWS = RowMapping(
    Callback,
    callbacks,
    enums={"rule": Rule, "channel": Channel, "status": CallbackStatus, "outcome": Outcome},
)
LOG_ROWS = RowMapping(LogEntry, callback_log, enums={"outcome": Outcome})


class SqlCallbackRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, callback: Callback) -> Callback | None:
        result = await self.conn.execute(
            insert_ignoring_duplicates(self.conn, callbacks).returning(callbacks.c.id),
            CALLBACK_ROWS.values(callback),
        )
        row = result.first()
        if row is None:
            return None
        callback.id = int(row[0])
        return callback

    async def get(self, callback_id: int, *, lock: bool = False) -> Callback | None:
        row = await row_by_id(self.conn, callbacks, callback_id, lock=lock)
        return CALLBACK_ROWS.entity(row) if row else None

    async def save(self, callback: Callback) -> None:
        if callback.id is None:
            raise ValueError("cannot save a callback that was never added")
        values = CALLBACK_ROWS.values(callback)
        # values() leaves out None; a cleared field must be written as NULL.
        for name in ("checkin_until", "checkin_queued_at", "assignee_id", "outcome",
                     "closed_at", "store_id"):
            values.setdefault(name, None)
        await self.conn.execute(update_by_id(callbacks), {**values, "row_id": callback.id})

    async def recent_for_member(self, member_id: int, since: datetime) -> list[Callback]:
        rows = await self.conn.execute(
            select(callbacks)
            .where(callbacks.c.member_id == member_id, callbacks.c.created_at >= since)
            .order_by(callbacks.c.created_at.desc(), callbacks.c.id.desc())
        )
        return [CALLBACK_ROWS.entity(row) for row in rows]

    async def last_of_rule(self, member_id: int, rule: Rule) -> datetime | None:
        found: datetime | None = await self.conn.scalar(
            select(func.max(callbacks.c.created_at)).where(
                callbacks.c.member_id == member_id, callbacks.c.rule == rule.value
            )
        )
        return found

    async def recent_for_members(
        self, member_ids: Iterable[int], since: datetime
    ) -> dict[int, list[Callback]]:
        ids = sorted(set(member_ids))
        found: dict[int, list[Callback]] = {}
        for chunk in _chunks(ids):
            rows = await self.conn.execute(
                select(callbacks)
                .where(
                    callbacks.c.member_id.in_(list(chunk)),
                    callbacks.c.created_at >= since,
                )
                .order_by(callbacks.c.created_at.desc(), callbacks.c.id.desc())
            )
            for row in rows:
                found.setdefault(row.member_id, []).append(CALLBACK_ROWS.entity(row))
        return found

    async def flagged(self, member_ids: Iterable[int]) -> set[int]:
        ids = sorted(set(member_ids))
        found: set[int] = set()
        for chunk in _chunks(ids):
            found.update(
                await self.conn.scalars(
                    select(callback_flags.c.member_id)
                    .where(callback_flags.c.member_id.in_(list(chunk)))
                    .distinct()
                )
            )
        return found

    async def gone_quiet_facts(
        self, member_ids: Iterable[int], rule: Rule
    ) -> dict[int, tuple[str, int | None, datetime | None]]:
        ids = sorted(set(member_ids))
        found: dict[int, tuple[str, int | None, datetime | None]] = {}
        for chunk in _chunks(ids):
            last = (
                select(
                    callbacks.c.member_id, func.max(callbacks.c.created_at).label("last_at")
                )
                .where(callbacks.c.rule == rule.value, callbacks.c.member_id.in_(chunk))
                .group_by(callbacks.c.member_id)
                .subquery()
            )
            rows = await self.conn.execute(
                select(members.c.id, members.c.tier, members.c.home_store_id, last.c.last_at)
                .select_from(members.outerjoin(last, last.c.member_id == members.c.id))
                .where(members.c.id.in_(chunk))
            )
            found.update((row[0], (row[1], row[2], row[3])) for row in rows)
        return found

    async def add_log(self, entry: LogEntry) -> LogEntry:
        result = await self.conn.execute(callback_log.insert(), LOG_ROWS.values(entry))
        entry.id = int(result.inserted_primary_key[0])
        return entry

    async def set_note(self, log_id: int, note: str) -> bool:
        result = await self.conn.execute(
            update_by_id(callback_log), {"note": note, "row_id": log_id}
        )
        return result.rowcount == 1

    async def log_for_member(self, member_id: int, limit: int) -> list[LogEntry]:
        rows = await self.conn.execute(
            select(callback_log)
            .where(callback_log.c.member_id == member_id)
            .order_by(callback_log.c.at.desc(), callback_log.c.id.desc())
            .limit(limit)
        )
        return [LOG_ROWS.entity(row) for row in rows]

    async def call_queue(
        self, staff_id: int | None, due_by: datetime, limit: int
    ) -> list[Callback]:
        mine = callbacks.c.assignee_id.is_(None)
        if staff_id is not None:
            mine = or_(mine, callbacks.c.assignee_id == staff_id)
        rows = await self.conn.execute(
            select(callbacks)
            .where(callbacks.c.status == CallbackStatus.QUEUED.value,
                   callbacks.c.due_at <= due_by, mine)
            .order_by(callbacks.c.due_at, callbacks.c.id)
            .limit(limit)
        )
        return [CALLBACK_ROWS.entity(row) for row in rows]

    async def due_checkins(self, now: datetime, limit: int) -> list[int]:
        return await self._ids(
            callbacks.c.due_at,
            limit,
            callbacks.c.status == CallbackStatus.CHECKIN.value,
            callbacks.c.checkin_queued_at.is_(None),
            callbacks.c.due_at <= now,
        )

    async def unanswered_checkins(self, now: datetime, limit: int) -> list[int]:
        return await self._ids(
            callbacks.c.checkin_until,
            limit,
            callbacks.c.status == CallbackStatus.CHECKIN.value,
            callbacks.c.checkin_until <= now,
        )

    async def overdue_calls(self, before: datetime, limit: int) -> list[int]:
        return await self._ids(
            callbacks.c.due_at,
            limit,
            callbacks.c.status == CallbackStatus.QUEUED.value,
            callbacks.c.due_at < before,
            callbacks.c.reminded != "managers",
        )

    async def _ids(self, earliest: Any, limit: int, *conditions: Any) -> list[int]:
        """Ids of the first `limit` callbacks meeting `conditions`, earliest `earliest` first."""
        rows = await self.conn.execute(
            select(callbacks.c.id)
            .where(*conditions)
            .order_by(earliest, callbacks.c.id)
            .limit(limit)
        )
        return [int(r[0]) for r in rows]

    async def flags(self, member_id: int) -> set[FlagKind]:
        rows = await self.conn.execute(
            select(callback_flags.c.kind).where(callback_flags.c.member_id == member_id)
        )
        return {FlagKind(r[0]) for r in rows}

    async def add_flag(
        self, member_id: int, kind: FlagKind, at: datetime, staff_id: int | None
    ) -> None:
        await self.conn.execute(
            insert_ignoring_duplicates(self.conn, callback_flags),
            {"member_id": member_id, "kind": kind.value, "at": at, "staff_id": staff_id},
        )

    async def new_members(self, first_from: datetime, first_to: datetime) -> list[Candidate]:
        earlier = receipts.alias("earlier")
        first = func.min(receipts.c.occurred_at)
        rows = await self.conn.execute(
            select(receipts.c.member_id, first.label("first"), members.c.home_store_id)
            .join(members, members.c.id == receipts.c.member_id)
            .where(
                receipts.c.occurred_at >= first_from,
                receipts.c.occurred_at < first_to,
                ~exists().where(earlier.c.member_id == receipts.c.member_id,
                                earlier.c.occurred_at < first_from),
                ~exists().where(callbacks.c.member_id == receipts.c.member_id,
                                callbacks.c.rule == Rule.NEW_MEMBER.value),
            )
            .group_by(receipts.c.member_id, members.c.home_store_id)
            .order_by(receipts.c.member_id)
        )
        return [Candidate(int(r.member_id), _aware(r.first), r.home_store_id) for r in rows]

    async def top_tier_members(self, tier: str, none_since: datetime) -> list[Candidate]:
        rows = await self.conn.execute(
            select(members.c.id, members.c.home_store_id, members.c.tier)
            .where(
                members.c.tier == tier,
                ~exists().where(callbacks.c.member_id == members.c.id,
                                callbacks.c.rule == Rule.VIP.value,
                                callbacks.c.created_at >= none_since),
            )
            .order_by(members.c.id)
        )
        return [Candidate(int(r.id), none_since, r.home_store_id, r.tier) for r in rows]

    async def call_list(self, store_id: int | None, due_by: datetime) -> list[Callback]:
        query = select(callbacks).where(
            callbacks.c.status == CallbackStatus.QUEUED.value, callbacks.c.due_at <= due_by
        )
        if store_id is not None:
            query = query.where(callbacks.c.store_id == store_id)
        rows = await self.conn.execute(query.order_by(callbacks.c.due_at, callbacks.c.id))
        return [CALLBACK_ROWS.entity(row) for row in rows]

    async def call_members(self, member_ids: Iterable[int]) -> dict[int, CallMember]:
        ids = sorted(set(member_ids))
        found: dict[int, CallMember] = {}
        for chunk in _chunks(ids):
            rows = await self.conn.execute(
                select(members.c.id, members.c.member_no, members.c.name, members.c.phone,
                       members.c.home_store_id, members.c.opted_out_at)
                .where(members.c.id.in_(list(chunk)))
            )
            for r in rows:
                found[int(r.id)] = CallMember(
                    id=int(r.id), member_no=r.member_no, name=r.name, phone=r.phone,
                    home_store_id=r.home_store_id, opted_out_at=r.opted_out_at,
                )
        return found

    async def report_rows(
        self, start: datetime, end: datetime, store_id: int | None
    ) -> list[ReportRow]:
        closing = (
            select(callback_log.c.actor)
            .where(callback_log.c.callback_id == callbacks.c.id,
                   callback_log.c.outcome == callbacks.c.outcome)
            .order_by(callback_log.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = select(callbacks, closing.label("closed_by")).where(
            callbacks.c.due_at >= start, callbacks.c.due_at < end
        )
        if store_id is not None:
            query = query.where(callbacks.c.store_id == store_id)
        rows = await self.conn.execute(query.order_by(callbacks.c.id))
        return [
            ReportRow(
                id=r.id, member_id=r.member_id, rule=Rule(r.rule), store_id=r.store_id,
                due_at=r.due_at, status=CallbackStatus(r.status),
                outcome=Outcome(r.outcome) if r.outcome else None, reason=r.reason,
                closed_at=r.closed_at, closed_by=r.closed_by or "",
            )
            for r in rows
        ]

    async def purchases_after(
        self, member_ids: Iterable[int], start: datetime, end: datetime
    ) -> dict[int, list[tuple[datetime, Decimal]]]:
        ids = sorted(set(member_ids))
        found: dict[int, list[tuple[datetime, Decimal]]] = {}
        for chunk in _chunks(ids):
            rows = await self.conn.execute(
                select(receipts.c.member_id, receipts.c.occurred_at, receipts.c.amount_cents)
                .where(receipts.c.member_id.in_(chunk), receipts.c.occurred_at > start,
                       receipts.c.occurred_at < end, receipts.c.amount_cents > 0)
            )
            for r in rows:
                found.setdefault(int(r.member_id), []).append(
                    (r.occurred_at, from_cents(r.amount_cents))
                )
        return found


def _aware(value: Any) -> datetime:
    """MIN() over a UTC column comes back as it is stored: naive on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


