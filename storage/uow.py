"""The unit of work: one connection, one transaction, and the only place that commits."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.shared.events import NO_HANDLERS, Event, EventBus
from domain.shared.member_data import MemberData
from storage.callbacks.repository import SqlCallbackRepository
from storage.campaigns.repository import SqlCampaignRepository
from storage.coupons.repository import SqlCouponRepository
from storage.jobs.repository import SqlJobRepository
from storage.loyalty.repository import SqlLedgerRepository, SqlReceiptRepository
from storage.member_data import member_data_for
from storage.members.repository import (
    SqlChatUserRepository,
    SqlMemberRepository,
    SqlStoreRepository,
)
from storage.messaging.repository import SqlOutboxRepository
from storage.privacy.repository import SqlConsentRepository, SqlPrivacyRepository
from storage.segments.repository import SqlSegmentRepository
from storage.staff.repository import SqlStaffRepository
from storage.surveys.repository import SqlSurveyRepository
from storage.tickets.repository import SqlAuditRepository, SqlTicketRepository
from storage.updates.repository import SqlHandledUpdateRepository

# What a caller outside storage/ catches when the database refuses a write (a constraint, a
# lost connection): the name keeps SQLAlchemy's exception types inside this package.
DatabaseRefused = DBAPIError


# SQLite's page cache of a connection writing in bulk (an import), in MB: see for_bulk_writes.
BULK_CACHE_MB = 128


class SqlUnitOfWork:
    """`async with uow: ...; await uow.commit()`; leaving without commit rolls back."""

    stores: SqlStoreRepository
    members: SqlMemberRepository
    chat_users: SqlChatUserRepository
    ledger: SqlLedgerRepository
    receipts: SqlReceiptRepository
    coupons: SqlCouponRepository
    outbox: SqlOutboxRepository
    staff: SqlStaffRepository
    jobs: SqlJobRepository
    tickets: SqlTicketRepository
    audit: SqlAuditRepository
    surveys: SqlSurveyRepository
    segments: SqlSegmentRepository
    campaigns: SqlCampaignRepository
    handled_updates: SqlHandledUpdateRepository
    consents: SqlConsentRepository
    privacy: SqlPrivacyRepository
    callbacks: SqlCallbackRepository
    member_data: list[MemberData]

    def __init__(self, engine: AsyncEngine, bus: EventBus = NO_HANDLERS) -> None:
        self.engine = engine
        self.bus = bus
        self._conn: AsyncConnection | None = None
        self._recorded: list[Event] = []
        self._depth = 0

    @property
    def recorded(self) -> list[Event]:
        return list(self._recorded)

    async def record(self, event: Event) -> None:
        """Keep the event and let its handlers react now, inside this transaction."""
        self.connection  # noqa: B018 - events belong to an open transaction
        self._recorded.append(event)
        self._depth += 1
        try:
            await self.bus.dispatch(self, event, self._depth)
        finally:
            self._depth -= 1

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is used outside 'async with'")
        return self._conn

    async def __aenter__(self) -> SqlUnitOfWork:
        conn = await self.engine.connect()
        await conn.begin()
        self._conn = conn
        self._recorded = []
        self.stores = SqlStoreRepository(conn)
        self.members = SqlMemberRepository(conn)
        self.chat_users = SqlChatUserRepository(conn)
        self.ledger = SqlLedgerRepository(conn)
        self.receipts = SqlReceiptRepository(conn)
        self.coupons = SqlCouponRepository(conn)
        self.outbox = SqlOutboxRepository(conn)
        self.staff = SqlStaffRepository(conn)
        self.jobs = SqlJobRepository(conn)
        self.tickets = SqlTicketRepository(conn)
        self.audit = SqlAuditRepository(conn)
        self.surveys = SqlSurveyRepository(conn)
        self.segments = SqlSegmentRepository(conn)
        self.campaigns = SqlCampaignRepository(conn)
        self.handled_updates = SqlHandledUpdateRepository(conn)
        self.consents = SqlConsentRepository(conn)
        self.privacy = SqlPrivacyRepository(conn)
        self.callbacks = SqlCallbackRepository(conn)
        self.member_data = member_data_for(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        await self.connection.commit()

    async def for_bulk_writes(self) -> None:
        """Prepare this transaction's connection for writing tens of thousands of rows (an
        import): on SQLite, a page cache of BULK_CACHE_MB instead of the default 2 MB, so the
        pages of the indexes an import inserts into at random (a member's receipts, its points)
        stay in memory instead of being read back from the file for every few rows. The
        connection keeps it until it closes; SQLite takes the memory only as pages are read.
        Nothing to do on PostgreSQL, whose server owns its cache."""
        conn = self.connection
        if conn.dialect.name == "sqlite" and not conn.info.get("bulk_cache"):
            await conn.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_MB * 1024}")
            conn.info["bulk_cache"] = True

    async def rollback(self) -> None:
        await self.connection.rollback()


class SqlUnitOfWorkFactory:
    """Makes a fresh unit of work per use case, over one shared engine and one event bus."""

    def __init__(self, engine: AsyncEngine, bus: EventBus = NO_HANDLERS) -> None:
        self.engine = engine
        self.bus = bus

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.bus)
