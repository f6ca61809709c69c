"""The ports domain needs: repositories, the unit of work, the messenger. storage/ and bot/
implement them."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from domain.coupons.ports import CouponRepository
    from domain.jobs.ports import JobRepository
    from domain.loyalty.ports import LedgerRepository, ReceiptRepository
    from domain.members.ports import ChatUserRepository, MemberRepository, StoreRepository
    from domain.messaging.ports import OutboxRepository
    from domain.staff.ports import StaffRepository
    from domain.surveys.ports import SurveyRepository
    from domain.tickets.ports import AuditRepository, TicketRepository


class UnitOfWork(Protocol):
    """One business transaction: repositories share it; only `commit` makes changes last."""

    # Read-only to the domain, so an implementation may hold its own repository classes.
    @property
    def stores(self) -> StoreRepository: ...
    @property
    def members(self) -> MemberRepository: ...
    @property
    def chat_users(self) -> ChatUserRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def receipts(self) -> ReceiptRepository: ...
    @property
    def coupons(self) -> CouponRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def staff(self) -> StaffRepository: ...
    @property
    def jobs(self) -> JobRepository: ...
    @property
    def tickets(self) -> TicketRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def surveys(self) -> SurveyRepository: ...

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
