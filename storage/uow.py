"""The unit of work: one connection, one transaction, and the only place that commits."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar, overload

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.shared.events import NO_HANDLERS, Event, EventBus
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


R = TypeVar("R")


class _Repository(Generic[R]):
    """A repository of the unit of work, made on first use inside its transaction and kept in
    the instance until the transaction ends. A step uses two or three of the twenty; making all
    of them for every transaction cost more processor time than a `/points` spends reading."""

    def __init__(self, make: Callable[[AsyncConnection], R]) -> None:
        self.make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...

    @overload
    def __get__(self, uow: SqlUnitOfWork, owner: type) -> R: ...

    def __get__(self, uow: SqlUnitOfWork | None, owner: type) -> R | _Repository[R]:
        if uow is None:
            return self
        made = self.make(uow.connection)  # outside `async with`: RuntimeError, as before
        uow.__dict__[self.name] = made  # read from the instance from now on
        return made


class SqlUnitOfWork:
    """`async with uow: ...; await uow.commit()`; leaving without commit rolls back."""

    stores = _Repository(SqlStoreRepository)
    members = _Repository(SqlMemberRepository)
    chat_users = _Repository(SqlChatUserRepository)
    ledger = _Repository(SqlLedgerRepository)
    receipts = _Repository(SqlReceiptRepository)
    coupons = _Repository(SqlCouponRepository)
    outbox = _Repository(SqlOutboxRepository)
    staff = _Repository(SqlStaffRepository)
    jobs = _Repository(SqlJobRepository)
    tickets = _Repository(SqlTicketRepository)
    audit = _Repository(SqlAuditRepository)
    surveys = _Repository(SqlSurveyRepository)
    segments = _Repository(SqlSegmentRepository)
    campaigns = _Repository(SqlCampaignRepository)
    handled_updates = _Repository(SqlHandledUpdateRepository)
    consents = _Repository(SqlConsentRepository)
    privacy = _Repository(SqlPrivacyRepository)
    callbacks = _Repository(SqlCallbackRepository)
    member_data = _Repository(member_data_for)

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
        return self

    def _forget_repositories(self) -> None:
        """Drop the repositories made in the transaction that ended: they hold its connection."""
        for name in _REPOSITORY_NAMES:
            self.__dict__.pop(name, None)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        self._forget_repositories()
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        await self.connection.commit()

    async def for_bulk_writes(self, cache_mb: int | None = None) -> None:
        """Prepare this transaction's connection for writing tens of thousands of rows (an
        import): on SQLite, a page cache of `cache_mb` (BULK_CACHE_MB unless said) instead of
        the default 2 MB, so the pages of the indexes an import inserts into at random (a
        member's receipts, its points) stay in memory instead of being read back from the file
        for every few rows. The connection keeps it until it closes or is given another size;
        SQLite takes the memory only as pages are read, so the database's size bounds it. Only
        the demo, which knows no bot shares its database, asks for more than the default.
        Nothing to do on PostgreSQL, whose server owns its cache."""
        conn = self.connection
        size = BULK_CACHE_MB if cache_mb is None else cache_mb
        if conn.dialect.name == "sqlite" and conn.info.get("bulk_cache_mb") != size:
            await conn.exec_driver_sql(f"PRAGMA cache_size = -{size * 1024}")
            conn.info["bulk_cache_mb"] = size

    async def rollback(self) -> None:
        await self.connection.rollback()


_REPOSITORY_NAMES = tuple(
    name for name, value in vars(SqlUnitOfWork).items() if isinstance(value, _Repository)
)


class SqlUnitOfWorkFactory:
    """Makes a fresh unit of work per use case, over one shared engine and one event bus."""

    def __init__(self, engine: AsyncEngine, bus: EventBus = NO_HANDLERS) -> None:
        self.engine = engine
        self.bus = bus

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.bus)
