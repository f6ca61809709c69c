"""The points ledger and receipts in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.loyalty.model import EntryKind, LedgerEntry, Lot, PointsBalance, Receipt, summarise
from storage.common import (
    BulkInsert,
    RowMapping,
    from_cents,
    one_of,
    row_type,
    to_cents,
    utc_value,
)
from storage.driver_statements import DriverStatement
from storage.loyalty.tables import points_ledger, points_summaries, receipts
from storage.members.tables import members

_ENTRIES = RowMapping(LedgerEntry, points_ledger, enums={"kind": EntryKind})
_LEDGER_COLUMNS = (
    "member_id", "kind", "points", "source_key", "occurred_at", "expires_at", "note"
)
_RECEIPT_COLUMNS = (
    "receipt_no", "store_id", "member_id", "occurred_at", "amount_cents", "currency",
    "original_receipt_no", "points",
)


class SqlLedgerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def entries_for(self, member_id: int) -> list[LedgerEntry]:
        rows = await self.conn.execute(
            select(points_ledger)
            .where(points_ledger.c.member_id == member_id)
            .order_by(points_ledger.c.occurred_at, points_ledger.c.id)
        )
        return _ENTRIES.entities(rows)

    async def entries_for_many(self, member_ids: Iterable[int]) -> dict[int, list[LedgerEntry]]:
        wanted = sorted(set(member_ids))
        found: dict[int, list[LedgerEntry]] = {member_id: [] for member_id in wanted}
        if wanted:
            rows = await self.conn.execute(
                select(points_ledger)
                .where(one_of(self.conn, points_ledger.c.member_id, wanted))
                .order_by(points_ledger.c.occurred_at, points_ledger.c.id)
            )
            for entry in _ENTRIES.entities(rows):
                found[entry.member_id].append(entry)
        return found

    async def append(self, entries: Sequence[LedgerEntry]) -> int:
        if not entries:
            return 0
        rows = await self.conn.execute(
            select(points_ledger.c.source_key).where(
                one_of(self.conn, points_ledger.c.source_key, {e.source_key for e in entries})
            )
        )
        known = set(rows.scalars())
        fresh: dict[str, LedgerEntry] = {}
        for entry in entries:
            if entry.source_key not in known:
                fresh.setdefault(entry.source_key, entry)
        utc = utc_value(self.conn)
        values = [
            (
                e.member_id,
                e.kind.value,
                e.points,
                e.source_key,
                utc(e.occurred_at),
                None if e.expires_at is None else utc(e.expires_at),
                e.note,
            )
            for e in fresh.values()
        ]
        # The unique source key guards against a concurrent writer booking the same entry.
        # One executemany of plain tuples: an import appends thousands of entries at a time.
        await BulkInsert(self.conn, points_ledger, _LEDGER_COLUMNS, ignore_duplicates=True).run(
            values
        )
        await self._keep_summaries(list(fresh.values()))
        return len(values)

    # -- the maintained summary (points_summaries) --------------------------------------------

    async def summary(self, member_id: int) -> PointsBalance:
        values = await _SUMMARY_ON_DRIVER.first(self.conn, {"member_id": member_id})
        if values is not None:  # the common case: one read, no lock, nothing written
            return _balance(_SummaryRow(*values))
        # Made from the ledger: locked first, so an append committing meanwhile is not missed.
        await self._lock_members([member_id])
        row = (await self.conn.execute(_SUMMARY, {"member_id": member_id})).first()
        if row is not None:
            return _balance(row)
        made = summarise(member_id, await self.entries_for(member_id))
        await self.conn.execute(insert(points_summaries).values(**_balance_values(made)))
        return made

    async def _keep_summaries(self, appended: list[LedgerEntry]) -> None:
        """Bring the summaries of the members concerned up to date, in the append's
        transaction. Members with no summary yet keep none: it is made when first read."""
        by_member: dict[int, list[LedgerEntry]] = {}
        for entry in appended:
            by_member.setdefault(entry.member_id, []).append(entry)
        if not by_member:
            return
        # Locked first, so a summary being made from the ledger right now cannot miss these.
        await self._lock_members(list(by_member))
        rows = await self.conn.execute(
            select(points_summaries).where(
                one_of(self.conn, points_summaries.c.member_id, sorted(by_member))
            )
        )
        current = {row.member_id: _balance(row) for row in rows}
        updated: list[PointsBalance] = []
        replay: list[int] = []
        for member_id, summary in current.items():
            after = summary.advanced(by_member[member_id])
            if after is None:  # an entry older than the summary: only a replay is right
                replay.append(member_id)
            else:
                updated.append(after)
        if replay:  # one read for all of them, not one per member
            for member_id, entries in (await self.entries_for_many(replay)).items():
                updated.append(summarise(member_id, entries))
        if updated:
            await self.conn.execute(
                update(points_summaries)
                .where(points_summaries.c.member_id == bindparam("summary_of"))
                .values(
                    balance=bindparam("balance"),
                    entries=bindparam("entries"),
                    as_of=bindparam("as_of"),
                    lots=bindparam("lots"),
                    recent=bindparam("recent"),
                ),
                [
                    {**_balance_values(b), "summary_of": b.member_id}
                    for b in updated
                ],
            )

    async def _lock_members(self, member_ids: list[int]) -> None:
        """PostgreSQL: hold the members' rows until commit (SQLite has one writer anyway).
        FOR NO KEY UPDATE, so inserting rows that refer to the member is not held up."""
        if self.conn.dialect.name != "postgresql":
            return
        await self.conn.execute(
            select(members.c.id)
            .where(one_of(self.conn, members.c.id, sorted(set(member_ids))))
            .order_by(members.c.id)
            .with_for_update(key_share=True)
        )

    async def stale_summaries(self) -> list[int]:
        """Members whose stored summary differs from their replayed ledger (should be none)."""
        wrong: list[int] = []
        rows = await self.conn.execute(select(points_summaries))
        for row in rows.all():
            stored = _balance(row)
            if not _same(stored, summarise(row.member_id, await self.entries_for(row.member_id))):
                wrong.append(int(row.member_id))
        return wrong

    async def balance(self, member_id: int) -> int:
        total = await self.conn.scalar(
            select(func.coalesce(func.sum(points_ledger.c.points), 0)).where(
                points_ledger.c.member_id == member_id
            )
        )
        return int(total or 0)


# A member's summary, read for every /points: built once (see storage.members.repository).
_SUMMARY = select(points_summaries).where(points_summaries.c.member_id == bindparam("member_id"))
# /points reads it with who is talking: run on the driver (storage.driver_statements).
_SUMMARY_ON_DRIVER = DriverStatement(_SUMMARY)
_SummaryRow = row_type(points_summaries)


def _balance_values(b: PointsBalance) -> dict[str, Any]:
    return {
        "member_id": b.member_id,
        "balance": b.balance,
        "entries": b.entries,
        "as_of": b.as_of,
        "lots": [
            [lot.source_key, lot.earned_at.isoformat(),
             lot.expires_at.isoformat() if lot.expires_at else None, lot.remaining]
            for lot in b.lots
        ],
        "recent": [
            [e.occurred_at.isoformat(), e.kind.value, e.points, e.source_key] for e in b.recent
        ],
    }


def _balance(row: Any) -> PointsBalance:
    return PointsBalance(
        member_id=row.member_id,
        balance=row.balance,
        lots=[
            Lot(key, _when(earned), _when(expires) if expires else None, remaining)
            for key, earned, expires, remaining in row.lots
        ],
        recent=[
            LedgerEntry(row.member_id, EntryKind(kind), points, key, _when(at))
            for at, kind, points, key in row.recent
        ],
        as_of=row.as_of,
        entries=row.entries,
    )


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _same(a: PointsBalance, b: PointsBalance) -> bool:
    """Equal as /points shows them (instants compared, not the zones they were written in)."""
    def lots(x: PointsBalance) -> list[tuple[Any, ...]]:
        return [(lot.source_key, lot.earned_at, lot.expires_at, lot.remaining) for lot in x.lots]

    def recent(x: PointsBalance) -> list[tuple[Any, ...]]:
        return [(e.occurred_at, e.kind, e.points, e.source_key) for e in x.recent]

    return (a.balance, a.entries, a.as_of, lots(a), recent(a)) == (
        b.balance, b.entries, b.as_of, lots(b), recent(b)
    )


_RECEIPTS = RowMapping(Receipt, receipts, cents=("amount",))
_receipt = _RECEIPTS.entity


class SqlReceiptRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, receipt_no: str) -> Receipt | None:
        row = (
            await self.conn.execute(select(receipts).where(receipts.c.receipt_no == receipt_no))
        ).first()
        return _receipt(row) if row else None

    async def get_many(self, receipt_nos: Iterable[str]) -> dict[str, Receipt]:
        """The stored receipts among these numbers, by number (an import's re-read rows)."""
        wanted = set(receipt_nos)
        if not wanted:
            return {}
        rows = await self.conn.execute(
            select(receipts).where(one_of(self.conn, receipts.c.receipt_no, wanted))
        )
        return {receipt.receipt_no: receipt for receipt in _RECEIPTS.entities(rows)}

    async def existing(self, receipt_nos: Iterable[str]) -> set[str]:
        wanted = set(receipt_nos)
        if not wanted:
            return set()
        rows = await self.conn.execute(
            select(receipts.c.receipt_no).where(one_of(self.conn, receipts.c.receipt_no, wanted))
        )
        return set(rows.scalars())

    async def add_many(self, new_receipts: Sequence[Receipt]) -> int:
        utc = utc_value(self.conn)
        values = [
            (
                r.receipt_no,
                r.store_id,
                r.member_id,
                utc(r.occurred_at),
                to_cents(r.amount),
                r.currency,
                r.original_receipt_no,
                r.points,
            )
            for r in new_receipts
        ]
        # One executemany of plain tuples (an import adds a few thousand at a time).
        await BulkInsert(self.conn, receipts, _RECEIPT_COLUMNS).run(values)
        return len(values)

    async def spend_since(self, member_ids: Iterable[int], since: datetime) -> dict[int, Decimal]:
        wanted = set(member_ids)
        if not wanted:
            return {}
        rows = await self.conn.execute(
            select(receipts.c.member_id, func.sum(receipts.c.amount_cents).label("cents"))
            .where(
                one_of(self.conn, receipts.c.member_id, wanted), receipts.c.occurred_at >= since
            )
            .group_by(receipts.c.member_id)
        )
        return {row.member_id: from_cents(row.cents) for row in rows}

    async def refunded(self, original_receipt_no: str) -> Decimal:
        cents = await self.conn.scalar(
            select(func.coalesce(func.sum(receipts.c.amount_cents), 0)).where(
                receipts.c.original_receipt_no == original_receipt_no
            )
        )
        return from_cents(int(cents or 0))

    async def refunded_many(self, original_receipt_nos: Iterable[str]) -> dict[str, Decimal]:
        wanted = sorted(set(original_receipt_nos))
        if not wanted:
            return {}
        rows = await self.conn.execute(
            select(
                receipts.c.original_receipt_no,
                func.sum(receipts.c.amount_cents).label("cents"),
            )
            .where(one_of(self.conn, receipts.c.original_receipt_no, wanted))
            .group_by(receipts.c.original_receipt_no)
        )
        return {row.original_receipt_no: from_cents(int(row.cents)) for row in rows}

    async def recent_for_member(self, member_id: int, count: int) -> list[Receipt]:
        rows = await self.conn.execute(
            select(receipts)
            .where(receipts.c.member_id == member_id)
            .order_by(receipts.c.occurred_at.desc(), receipts.c.id.desc())
            .limit(count)
        )
        return [_receipt(row) for row in rows]
