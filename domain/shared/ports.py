"""The unit of work, composed of every feature's repositories (each declared in
domain/<feature>/ports.py); storage/ implements it."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from domain.callbacks.ports import CallbackRepository
    from domain.campaigns.ports import CampaignRepository
    from domain.coupons.ports import CouponRepository
    from domain.jobs.ports import JobRepository
    from domain.loyalty.ports import LedgerRepository, ReceiptRepository
    from domain.members.ports import ChatUserRepository, MemberRepository, StoreRepository
    from domain.messaging.ports import OutboxRepository
    from domain.privacy.ports import ConsentRepository, PrivacyRepository
    from domain.segments.ports import SegmentRepository
    from domain.shared.events import Event
    from domain.shared.member_data import MemberData
    from domain.staff.ports import StaffRepository
    from domain.surveys.ports import SurveyRepository
    from domain.tickets.ports import AuditRepository, TicketRepository
    from domain.updates.ports import HandledUpdateRepository


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
    @property
    def segments(self) -> SegmentRepository: ...
    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def handled_updates(self) -> HandledUpdateRepository: ...
    @property
    def consents(self) -> ConsentRepository:
        """Consent per purpose: `await uow.consents.allowed(member_ids, Purpose.X)`."""
        ...
    @property
    def privacy(self) -> PrivacyRepository: ...
    @property
    def callbacks(self) -> CallbackRepository: ...

    @property
    def member_data(self) -> Sequence[MemberData]:
        """Every feature's part of a member's footprint (export, erase, reassign), in the order
        erase and reassign must run."""
        ...

    @property
    def recorded(self) -> list[Event]:
        """The events recorded in this transaction so far, oldest first."""
        ...

    async def record(self, event: Event) -> None:
        """Record a domain event; the handlers wired for it react now, in this transaction."""
        ...

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
