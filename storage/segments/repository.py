"""The segments repository: statistics kept current on booking (one bulk upsert per booking),
built from the receipts once, moved with the window; scores; the history of refreshes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.segments.model import Lifecycle, MemberSegment
from domain.segments.views import (
    MemberFigures,
    MemberStatsDelta,
    RefreshRecord,
    SegmentMove,
    SegmentSize,
    StatsColumns,
)
from storage.common import BulkInsert, _chunks, utc_value
from storage.loyalty.tables import receipts
from storage.members.tables import members
from storage.segments.tables import (
    member_segments,
    member_stats,
    segment_moves,
    segment_refreshes,
    segment_sizes,
)
from storage.types import UtcDateTime

PENDING = "pending"  # a refresh that has moved the window but not finished
WRITE_ROWS = 2000  # rows per multi-row statement
_STATS_COLUMNS = (
    "member_id", "first_purchase_at", "last_purchase_at", "purchases", "spend_cents",
    "window_purchases", "window_spend_cents", "updated_at",
)
# A member's statistics plus a booking's: the earlier first purchase, the later last one (a
# refund brings neither), the counts and sums added.
_ADD_TO_STATS = """(member_id) DO UPDATE SET
    first_purchase_at = CASE
        WHEN member_stats.first_purchase_at IS NULL
            OR excluded.first_purchase_at < member_stats.first_purchase_at
        THEN excluded.first_purchase_at ELSE member_stats.first_purchase_at END,
    last_purchase_at = CASE
        WHEN member_stats.last_purchase_at IS NULL
            OR excluded.last_purchase_at > member_stats.last_purchase_at
        THEN excluded.last_purchase_at ELSE member_stats.last_purchase_at END,
    purchases = member_stats.purchases + excluded.purchases,
    spend_cents = member_stats.spend_cents + excluded.spend_cents,
    window_purchases = member_stats.window_purchases + excluded.window_purchases,
    window_spend_cents = member_stats.window_spend_cents + excluded.window_spend_cents,
    updated_at = excluded.updated_at"""


def _segment(row: Any) -> MemberSegment:
    return MemberSegment(
        member_id=row.member_id,
        recency_days=row.recency_days,
        frequency=row.frequency,
        monetary=Decimal(row.monetary_cents) / 100,
        r=row.r,
        f=row.f,
        m=row.m,
        segment=row.segment,
        lifecycle=Lifecycle(row.lifecycle),
        p_alive=row.p_alive,
        expected_purchases_90d=row.expected_purchases_90d,
        churn_flag=bool(row.churn_flag),
        high_value=bool(row.high_value),
        refreshed_at=row.refreshed_at,
    )


def _record(row: Any) -> RefreshRecord:
    return RefreshRecord(
        id=row.id,
        refreshed_at=row.refreshed_at,
        window_start=row.window_start,
        method=row.method,
        members=row.members,
        scored=row.scored,
        model=row.model,
        bg_r=row.bg_r,
        bg_alpha=row.bg_alpha,
        bg_a=row.bg_a,
        bg_b=row.bg_b,
        log_likelihood=row.log_likelihood,
        note=row.note,
    )


def _row(s: MemberSegment) -> dict[str, Any]:
    return {
        "member_id": s.member_id,
        "recency_days": s.recency_days,
        "frequency": s.frequency,
        "monetary_cents": int(s.monetary * 100),
        "r": s.r,
        "f": s.f,
        "m": s.m,
        "segment": s.segment,
        "lifecycle": s.lifecycle.value,
        "p_alive": s.p_alive,
        "expected_purchases_90d": s.expected_purchases_90d,
        "churn_flag": s.churn_flag,
        "high_value": s.high_value,
        "refreshed_at": s.refreshed_at,
    }


def _values(s: MemberSegment) -> tuple[Any, ...]:
    """`_row(s)`'s values in its order, without the dict (a refresh writes a million)."""
    return (
        s.member_id,
        s.recency_days,
        s.frequency,
        int(s.monetary * 100),
        s.r,
        s.f,
        s.m,
        s.segment,
        s.lifecycle.value,
        s.p_alive,
        s.expected_purchases_90d,
        s.churn_flag,
        s.high_value,
        s.refreshed_at,
    )


class SqlSegmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def _insert(self, table: Any) -> Any:
        """An INSERT that can take ON CONFLICT, for the dialect in use."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # -- reading scores ------------------------------------------------------------------------

    async def get(self, member_id: int) -> MemberSegment | None:
        row = (
            await self.conn.execute(
                select(member_segments).where(member_segments.c.member_id == member_id)
            )
        ).first()
        return None if row is None else _segment(row)

    async def for_members(self, member_ids: Iterable[int]) -> dict[int, MemberSegment]:
        ids = sorted(set(member_ids))
        found: dict[int, MemberSegment] = {}
        for chunk in _chunks(ids):  # bounded IN lists
            rows = await self.conn.execute(
                select(member_segments).where(member_segments.c.member_id.in_(list(chunk)))
            )
            found.update((row.member_id, _segment(row)) for row in rows)
        return found

    # -- statistics --------------------------------------------------------------------------

    async def window_start(self, *, moving: bool = False) -> datetime | None:
        query = (
            select(segment_refreshes.c.window_start)
            .order_by(segment_refreshes.c.id.desc())
            .limit(1)
        )
        if self.conn.dialect.name == "postgresql":
            # SQLite has one writer at a time anyway (a stale reader cannot write).
            query = query.with_for_update(read=not moving)
        value: datetime | None = await self.conn.scalar(query)
        return value

    async def add_to_stats(self, deltas: Sequence[MemberStatsDelta], at: datetime) -> None:
        # One statement over plain tuples (arrays on PostgreSQL): a chunk of an import adds to
        # the statistics of a few thousand members, and a row-by-row upsert cost PostgreSQL as
        # much as inserting the receipts.
        utc = utc_value(self.conn)
        updated_at = utc(at)
        await BulkInsert(
            self.conn, member_stats, _STATS_COLUMNS, on_conflict=_ADD_TO_STATS
        ).run(
            [
                (
                    d.member_id,
                    None if d.first_purchase_at is None else utc(d.first_purchase_at),
                    None if d.last_purchase_at is None else utc(d.last_purchase_at),
                    d.purchases,
                    d.spend_cents,
                    d.window_purchases,
                    d.window_spend_cents,
                    updated_at,
                )
                for d in deltas
            ]
        )

    async def rebuild_stats(self, window_start: datetime, at: datetime) -> int:
        r = receipts.c
        sale = r.amount_cents > 0
        in_window = r.occurred_at >= literal(window_start, UtcDateTime)
        built = select(
            r.member_id,
            func.min(case((sale, r.occurred_at))),
            func.max(case((sale, r.occurred_at))),
            func.sum(case((sale, 1), else_=0)),
            func.sum(r.amount_cents),
            func.sum(case((and_(sale, in_window), 1), else_=0)),
            func.sum(case((in_window, r.amount_cents), else_=0)),
            literal(at, UtcDateTime),
        ).group_by(r.member_id)
        await self.conn.execute(delete(member_stats))
        result = await self.conn.execute(
            insert(member_stats).from_select(
                [
                    "member_id",
                    "first_purchase_at",
                    "last_purchase_at",
                    "purchases",
                    "spend_cents",
                    "window_purchases",
                    "window_spend_cents",
                    "updated_at",
                ],
                built,
            )
        )
        return int(result.rowcount or 0)

    async def slide_window(self, old_start: datetime, new_start: datetime, at: datetime) -> int:
        r = receipts.c
        left = (
            select(
                r.member_id.label("member_id"),
                func.sum(case((r.amount_cents > 0, 1), else_=0)).label("purchases"),
                func.sum(r.amount_cents).label("spend"),
            )
            .where(r.occurred_at >= old_start, r.occurred_at < new_start)
            .group_by(r.member_id)
            .subquery()
        )
        result = await self.conn.execute(
            update(member_stats)
            .where(member_stats.c.member_id == left.c.member_id)
            .values(
                window_purchases=member_stats.c.window_purchases - left.c.purchases,
                window_spend_cents=member_stats.c.window_spend_cents - left.c.spend,
                updated_at=at,
            )
        )
        return int(result.rowcount or 0)

    def _epoch(self, column: str) -> str:
        """A UTC time column as seconds since the epoch, computed by the database: a million
        rows then come back as plain numbers, with no datetime to build per value."""
        if self.conn.dialect.name == "postgresql":
            return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"
        # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC; julianday reads it.
        return f"(julianday({column}) - 2440587.5) * 86400.0"

    async def _plain_rows(self, sql: str) -> Sequence[Sequence[Any]]:
        """Every row of a fixed query (no parameters) as plain tuples. A refresh reads one row
        per member: SQLAlchemy's result objects would cost several times the database's work,
        so the rows come straight from the driver (in this transaction)."""
        if self.conn.dialect.driver == "asyncpg":
            raw = await self.conn.get_raw_connection()
            driver: Any = raw.driver_connection
            rows: Sequence[Sequence[Any]] = await driver.fetch(sql)
            return rows
        return (await self.conn.exec_driver_sql(sql)).all()

    async def _plain_columns(self, sql: str, width: int) -> list[list[Any]]:
        """The `width` columns of a fixed query as lists. On PostgreSQL the query comes back as
        one row of arrays (array_agg over it): asyncpg decodes an array of a million values in
        C, several times faster than a million records to take apart in Python."""
        if self.conn.dialect.driver == "asyncpg":
            names = ", ".join(f"c{i}" for i in range(width))
            arrays = ", ".join(f"array_agg(c{i})" for i in range(width))
            row = (await self._plain_rows(f"SELECT {arrays} FROM ({sql}) AS q ({names})"))[0]
            return [[] if column is None else column for column in row]  # no rows: NULLs
        rows = await self._plain_rows(sql)
        return [list(column) for column in zip(*rows, strict=True)] if rows else [
            [] for _ in range(width)
        ]

    async def all_stats(self) -> StatsColumns:
        ids, firsts, lasts, buys, w_buys, w_spend = await self._plain_columns(
            f"SELECT m.id, {self._epoch('s.first_purchase_at')}, "
            f"{self._epoch('s.last_purchase_at')}, COALESCE(s.purchases, 0), "
            "COALESCE(s.window_purchases, 0), COALESCE(s.window_spend_cents, 0) FROM members m "
            "LEFT JOIN member_stats s ON s.member_id = m.id ORDER BY m.id",
            6,
        )
        return StatsColumns(
            member_ids=ids,
            first_purchase_at=firsts,
            last_purchase_at=lasts,
            purchases=buys,
            window_purchases=w_buys,
            window_spend_cents=w_spend,
        )

    # -- scores ----------------------------------------------------------------------------

    async def previous(self) -> dict[int, tuple[str | None, str]]:
        ids, segments, stages = await self._plain_columns(
            "SELECT member_id, segment, lifecycle FROM member_segments", 3
        )
        return dict(zip(ids, zip(segments, stages, strict=True), strict=True))

    async def forget(self, member_ids: Iterable[int]) -> int:
        removed = 0
        for chunk in _chunks(sorted(set(member_ids))):
            result = await self.conn.execute(
                delete(member_segments).where(member_segments.c.member_id.in_(chunk))
            )
            removed += result.rowcount or 0
        return removed

    async def write(self, segments: Sequence[MemberSegment]) -> None:
        """Upsert the members' rows: a refresh writes every member, so the rows go to the
        driver as plain values (SQLAlchemy's per-row parameter handling would cost more than
        the database's work): on PostgreSQL by COPY, on SQLite in one executemany."""
        if not segments:
            return
        names = list(_row(segments[0]))  # the tuples below follow _row's order
        dialect = self.conn.dialect
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            await self._write_copied(segments, names)
            return
        if dialect.name == "sqlite":
            marks = ", ".join("?" for _ in names)
        elif dialect.paramstyle == "numeric_dollar":
            marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        else:  # another driver: let SQLAlchemy bind
            await self._write_bound(segments)
            return
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "member_id")
        sql = (
            f"INSERT INTO member_segments ({', '.join(names)}) VALUES ({marks}) "
            f"ON CONFLICT (member_id) DO UPDATE SET {updates}"
        )
        rows = [_values(s) for s in segments]
        if dialect.name == "sqlite":
            when = names.index("refreshed_at")
            stored = utc_value(self.conn)  # the text UtcDateTime writes on SQLite
            rows = [(*row[:when], stored(row[when]), *row[when + 1 :]) for row in rows]
        await self.conn.exec_driver_sql(sql, rows)

    async def _write_copied(self, segments: Sequence[MemberSegment], names: list[str]) -> None:
        """PostgreSQL: COPY the rows into a temporary table, then one INSERT ... SELECT ... ON
        CONFLICT: the server upserts them in one statement instead of one per row."""
        updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "member_id")
        await self.conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS member_segments_incoming "
            "(LIKE member_segments) ON COMMIT DELETE ROWS"
        )
        raw = await self.conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(
            "member_segments_incoming",
            records=[_values(s) for s in segments],
            columns=names,
        )
        await self.conn.exec_driver_sql(
            f"INSERT INTO member_segments ({', '.join(names)}) "
            f"SELECT {', '.join(names)} FROM member_segments_incoming "
            f"ON CONFLICT (member_id) DO UPDATE SET {updates}"
        )
        await self.conn.exec_driver_sql("DELETE FROM member_segments_incoming")

    async def _write_bound(self, segments: Sequence[MemberSegment]) -> None:
        stmt = self._insert(member_segments)
        stmt = stmt.on_conflict_do_update(
            index_elements=[member_segments.c.member_id],
            set_={
                column.name: stmt.excluded[column.name]
                for column in member_segments.c
                if column.name != "member_id"
            },
        )
        rows = [_row(s) for s in segments]
        for start in range(0, len(rows), WRITE_ROWS):
            await self.conn.execute(stmt, rows[start : start + WRITE_ROWS])

    # -- refreshes -------------------------------------------------------------------------

    async def add_refresh(self, record: RefreshRecord) -> int:
        result = await self.conn.execute(
            insert(segment_refreshes)
            .values(
                refreshed_at=record.refreshed_at,
                window_start=record.window_start,
                method=record.method,
                members=record.members,
                scored=record.scored,
                model=PENDING,
                note=record.note,
            )
            .returning(segment_refreshes.c.id)
        )
        return int(result.scalar_one())

    async def complete_refresh(
        self, record: RefreshRecord, sizes: Sequence[SegmentSize], moves: Sequence[SegmentMove]
    ) -> None:
        if record.id is None:
            raise ValueError("a refresh is completed by the id add_refresh gave it")
        await self.conn.execute(
            update(segment_refreshes)
            .where(segment_refreshes.c.id == record.id)
            .values(
                members=record.members,
                scored=record.scored,
                model=record.model,
                bg_r=record.bg_r,
                bg_alpha=record.bg_alpha,
                bg_a=record.bg_a,
                bg_b=record.bg_b,
                log_likelihood=record.log_likelihood,
                note=record.note[:200],
            )
        )
        if sizes:
            await self.conn.execute(
                insert(segment_sizes),
                [
                    {
                        "refresh_id": record.id,
                        "kind": s.kind,
                        "key": s.key,
                        "members": s.members,
                        "monetary_cents": s.monetary_cents,
                        "p_alive_sum": s.p_alive_sum,
                        "p_alive_members": s.p_alive_members,
                    }
                    for s in sizes
                ],
            )
        if moves:
            await self.conn.execute(
                insert(segment_moves),
                [
                    {
                        "refresh_id": record.id,
                        "kind": m.kind,
                        "old": m.old,
                        "new": m.new,
                        "members": m.members,
                    }
                    for m in moves
                ],
            )

    async def last_refresh(self) -> RefreshRecord | None:
        found = await self.refreshes(1)
        return found[0] if found else None

    async def refreshes(self, count: int) -> list[RefreshRecord]:
        rows = await self.conn.execute(
            select(segment_refreshes)
            .where(segment_refreshes.c.model != PENDING)
            .order_by(segment_refreshes.c.id.desc())
            .limit(count)
        )
        return [_record(row) for row in rows]

    async def sizes(self, refresh_id: int) -> list[SegmentSize]:
        c = segment_sizes.c
        rows = await self.conn.execute(
            select(segment_sizes).where(c.refresh_id == refresh_id).order_by(c.kind, c.key)
        )
        return [
            SegmentSize(
                row.kind,
                row.key,
                row.members,
                row.monetary_cents,
                row.p_alive_sum,
                row.p_alive_members,
            )
            for row in rows
        ]

    async def moves_since(self, since: datetime) -> list[SegmentMove]:
        c = segment_moves.c
        rows = await self.conn.execute(
            select(c.kind, c.old, c.new, func.sum(c.members))
            .select_from(
                segment_moves.join(segment_refreshes, segment_refreshes.c.id == c.refresh_id)
            )
            .where(
                segment_refreshes.c.refreshed_at >= since,
                segment_refreshes.c.model != PENDING,
            )
            .group_by(c.kind, c.old, c.new)
            .order_by(c.kind, c.old, c.new)
        )
        return [SegmentMove(row[0], row[1], row[2], int(row[3])) for row in rows]

    async def rf_grid(self) -> dict[tuple[int, int], int]:
        c = member_segments.c
        rows = await self.conn.execute(
            select(c.r, c.f, func.count()).where(c.r.is_not(None)).group_by(c.r, c.f)
        )
        return {(int(row[0]), int(row[1])): int(row[2]) for row in rows}

    async def figures(self, member_no: str) -> MemberFigures | None:
        row = (
            await self.conn.execute(
                select(members.c.member_no, member_segments)
                .select_from(
                    member_segments.join(members, members.c.id == member_segments.c.member_id)
                )
                .where(members.c.member_no == member_no)
            )
        ).first()
        return None if row is None else MemberFigures(row.member_no, _segment(row))

    async def export_rows(self) -> list[MemberFigures]:
        rows = await self.conn.stream(
            select(members.c.member_no, member_segments)
            .select_from(
                member_segments.join(members, members.c.id == member_segments.c.member_id)
            )
            .order_by(members.c.member_no)
        )
        found: list[MemberFigures] = []
        async for part in rows.partitions(10_000):
            found.extend(MemberFigures(row.member_no, _segment(row)) for row in part)
        return found
