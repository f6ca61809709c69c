"""The points ledger and receipts in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.loyalty.model import EntryKind, LedgerEntry, Receipt
from storage.common import RowMapping, _chunks, from_cents, insert_ignoring_duplicates, to_cents
from storage.loyalty.tables import points_ledger, receipts

_entry = RowMapping(LedgerEntry, points_ledger, enums={"kind": EntryKind}).entity


class SqlLedgerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def entries_for(self, member_id: int) -> list[LedgerEntry]:
        rows = await self.conn.execute(
            select(points_ledger)
            .where(points_ledger.c.member_id == member_id)
            .order_by(points_ledger.c.occurred_at, points_ledger.c.id)
        )
        return [_entry(row) for row in rows]

    async def append(self, entries: Sequence[LedgerEntry]) -> int:
        if not entries:
            return 0
        known: set[str] = set()
        keys = [e.source_key for e in entries]
        for chunk in _chunks(keys):
            rows = await self.conn.execute(
                select(points_ledger.c.source_key).where(points_ledger.c.source_key.in_(chunk))
            )
            known.update(row.source_key for row in rows)
        fresh: dict[str, LedgerEntry] = {}
        for entry in entries:
            if entry.source_key not in known:
                fresh.setdefault(entry.source_key, entry)
        values = [
            {
                "member_id": e.member_id,
                "kind": e.kind.value,
                "points": e.points,
                "source_key": e.source_key,
                "occurred_at": e.occurred_at,
                "expires_at": e.expires_at,
                "note": e.note,
            }
            for e in fresh.values()
        ]
        # The unique source key guards against a concurrent writer booking the same entry.
        statement = insert_ignoring_duplicates(self.conn, points_ledger)
        for chunk in _chunks(values):
            await self.conn.execute(statement, list(chunk))
        return len(values)

    async def balance(self, member_id: int) -> int:
        total = await self.conn.scalar(
            select(func.coalesce(func.sum(points_ledger.c.points), 0)).where(
                points_ledger.c.member_id == member_id
            )
        )
        return int(total or 0)


_receipt = RowMapping(Receipt, receipts, cents=("amount",)).entity


class SqlReceiptRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, receipt_no: str) -> Receipt | None:
        row = (
            await self.conn.execute(select(receipts).where(receipts.c.receipt_no == receipt_no))
        ).first()
        return _receipt(row) if row else None

    async def existing(self, receipt_nos: Iterable[str]) -> set[str]:
        wanted = list(set(receipt_nos))
        found: set[str] = set()
        for chunk in _chunks(wanted):
            rows = await self.conn.execute(
                select(receipts.c.receipt_no).where(receipts.c.receipt_no.in_(chunk))
            )
            found.update(row.receipt_no for row in rows)
        return found

    async def add_many(self, new_receipts: Sequence[Receipt]) -> int:
        values = [
            {
                "receipt_no": r.receipt_no,
                "store_id": r.store_id,
                "member_id": r.member_id,
                "occurred_at": r.occurred_at,
                "amount_cents": to_cents(r.amount),
                "currency": r.currency,
                "original_receipt_no": r.original_receipt_no,
                "points": r.points,
            }
            for r in new_receipts
        ]
        for chunk in _chunks(values):
            await self.conn.execute(insert(receipts), list(chunk))
        return len(values)

    async def spend_since(self, member_ids: Iterable[int], since: datetime) -> dict[int, Decimal]:
        wanted = list(set(member_ids))
        found: dict[int, Decimal] = {}
        for chunk in _chunks(wanted):
            rows = await self.conn.execute(
                select(receipts.c.member_id, func.sum(receipts.c.amount_cents).label("cents"))
                .where(receipts.c.member_id.in_(chunk), receipts.c.occurred_at >= since)
                .group_by(receipts.c.member_id)
            )
            found.update({row.member_id: max(Decimal(0), from_cents(row.cents)) for row in rows})
        return found

    async def refunded(self, original_receipt_no: str) -> Decimal:
        cents = await self.conn.scalar(
            select(func.coalesce(func.sum(receipts.c.amount_cents), 0)).where(
                receipts.c.original_receipt_no == original_receipt_no
            )
        )
        return from_cents(int(cents or 0))

    async def recent_for_member(self, member_id: int, count: int) -> list[Receipt]:
        rows = await self.conn.execute(
            select(receipts)
            .where(receipts.c.member_id == member_id)
            .order_by(receipts.c.occurred_at.desc(), receipts.c.id.desc())
            .limit(count)
        )
        return [_receipt(row) for row in rows]
