"""What staff see: the queue, a ticket with its thread, a member's profile, the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process, utils

from domain.segments.model import MemberSegment
from domain.shared.errors import InvalidPhone
from domain.shared.phones import mask_phone, normalize_phone
from domain.tickets.rules import sees_personal_data, staff_actor
from domain.tickets.services import _audit, load_ticket

if TYPE_CHECKING:
    from domain.loyalty.model import Receipt
    from domain.members.model import Member, Store
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork
    from domain.staff.model import StaffMember
    from domain.tickets.model import AuditEntry, QueueCounts, Ticket, TicketMessage

MEMBER_SEARCH_LIMIT = 5
PHONE_ENDING_DIGITS = 4  # what an agent sees of a phone (see domain.shared.phones.mask_phone)
NAME_MATCH_MIN_SCORE = 70.0
RECENT_RECEIPTS = 5
PAST_TICKETS = 5
THREAD_SHOWN = 30


# -- what staff look at -------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    """Active tickets, the most urgent SLA first, and who holds them."""

    tickets: list[Ticket]
    counts: QueueCounts
    staff: dict[int, StaffMember]


async def ticket_queue(uow: UnitOfWork, now: datetime, limit: int = 20) -> QueueView:
    tickets = await uow.tickets.queue(limit)
    counts = await uow.tickets.queue_counts(now)
    staff = {s.id: s for s in await uow.staff.list() if s.id is not None}
    return QueueView(tickets, counts, staff)


@dataclass(frozen=True)
class MemberProfile:
    """A member as the desk shows them; `full` says whether phone and birthday are unmasked."""

    member: Member
    full: bool
    balance: int
    receipts: list[Receipt]
    tickets: list[Ticket]
    stores: dict[int, Store] = field(default_factory=dict)
    segment: MemberSegment | None = None  # figures of the last segments refresh

    @property
    def phone(self) -> str:
        phone = self.member.phone or ""
        return phone if self.full else mask_phone(phone) if phone else "-"

    @property
    def birthday(self) -> str | None:
        """None when the viewer may not see it."""
        if not self.full:
            return None
        return self.member.birthday.isoformat() if self.member.birthday else "-"


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    messages: list[TicketMessage]
    profile: MemberProfile | None
    store: Store | None
    assignee: StaffMember | None
    staff: dict[int, StaffMember]


async def _profile(uow: UnitOfWork, member: Member, full: bool) -> MemberProfile:
    assert member.id is not None
    receipts = await uow.receipts.recent_for_member(member.id, RECENT_RECEIPTS)
    stores = {s.id: s for s in await uow.stores.list() if s.id is not None}
    return MemberProfile(
        member=member,
        full=full,
        balance=await uow.ledger.balance(member.id),
        receipts=receipts,
        tickets=await uow.tickets.for_member(member.id, PAST_TICKETS + 1),
        stores=stores,
        segment=await uow.segments.get(member.id),
    )


async def view_ticket(
    uow: UnitOfWork, ticket_id: int, staff: StaffMember, *, private_chat: bool, now: datetime
) -> TicketView:
    """The whole thread and the member's profile; the viewing is written to the audit."""
    ticket = await load_ticket(uow, ticket_id, lock=False)
    assert ticket.id is not None
    messages = await uow.tickets.messages(ticket.id, THREAD_SHOWN)
    member = await uow.members.get(ticket.member_id)
    full = sees_personal_data(staff, private_chat)
    profile = await _profile(uow, member, full) if member else None
    store = await uow.stores.get(ticket.store_id) if ticket.store_id is not None else None
    staff_by_id = {s.id: s for s in await uow.staff.list() if s.id is not None}
    await _audit(uow, staff_actor(staff), "ticket.view", now, ticket=ticket,
                 detail="member data " + ("in full" if full else "masked"))
    return TicketView(ticket, messages, profile, store,
                      staff_by_id.get(ticket.assignee_id or -1), staff_by_id)


def _looks_like_phone(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 7 and all(ch.isdigit() or ch in "+-() " for ch in text)


async def search_members(
    uow: UnitOfWork,
    policy: Policy,
    staff: StaffMember,
    query: str,
    *,
    private_chat: bool,
    now: datetime,
) -> list[MemberProfile]:
    """Members by phone, member number or a (misspelled) name; each one shown is audited.

    The audit records how the search was made and whom it showed, never the query itself
    (a phone or a name is personal data).
    """
    text = query.strip()
    found: list[Member] = []
    how = "name"
    by_number = await uow.members.get_by_member_no(text) or (
        await uow.members.get_by_member_no(text.upper()) if text != text.upper() else None
    )
    if by_number is not None:
        found, how = [by_number], "member number"
    elif len(text) == PHONE_ENDING_DIGITS and text.isdigit():
        # Agents only ever see the last four digits of a phone, so those must find the member.
        how = "last four digits of the phone"
        found = await uow.members.with_phone_ending(text, MEMBER_SEARCH_LIMIT)
    elif _looks_like_phone(text):
        how = "phone"
        try:
            by_phone = await uow.members.get_by_phone(normalize_phone(text, policy.default_region))
        except InvalidPhone:
            by_phone = None
        found = [by_phone] if by_phone is not None else []
    elif text:
        names = dict(await uow.members.names())
        best = process.extract(
            text, names, scorer=fuzz.WRatio, processor=utils.default_process,
            limit=MEMBER_SEARCH_LIMIT, score_cutoff=NAME_MATCH_MIN_SCORE,
        )
        for _name, _score, member_id in best:
            member = await uow.members.get(int(member_id))
            if member is not None:
                found.append(member)
    full = sees_personal_data(staff, private_chat)
    profiles = [await _profile(uow, member, full) for member in found]
    await _audit(uow, staff_actor(staff), "member.search", now,
                 detail=f"by {how}: {len(found)} found")
    for profile in profiles:
        await _audit(uow, staff_actor(staff), "member.view", now, member_id=profile.member.id,
                     detail="member data " + ("in full" if full else "masked"))
    return profiles


# -- the audit ------------------------------------------------------------------------------


async def audit_trail(
    uow: UnitOfWork,
    *,
    ticket_id: int | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = 500,
) -> list[AuditEntry]:
    return await uow.audit.find(ticket_id=ticket_id, actor=actor, since=since, limit=limit)


def staff_by_id(accounts: Mapping[int, StaffMember], staff_id: int | None) -> str:
    if staff_id is None:
        return "-"
    account = accounts.get(staff_id)
    if account is None:
        return f"#{staff_id}"
    return account.shown_name
