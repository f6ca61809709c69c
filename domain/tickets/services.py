"""Complaint tickets at work: opening one, the relay between member and staff, the staff's
actions with their audit rows, and the scheduled follow-ups.

Each function here is one use case inside the caller's unit of work: it reads, changes, queues
the outbox rows that announce the change and writes the audit row, and the caller commits.
Nothing here sends a message: members and staff hear of a change through the outbox, in the
same transaction as the change (see domain.messaging).

Who may do what:
- every staff role sees the queue, any ticket and any member, replies, notes, takes, resolves,
  closes and escalates;
- an agent works only tickets that are unassigned or assigned to them; managers and admins
  work every ticket and alone may assign a ticket to someone else;
- a member's phone in full and their birthday are shown to managers and admins in a private
  chat only: agents, and everybody in the staff group, see the last four digits and no birthday.

Staff messages about a ticket go to the staff group (STAFF_CHAT_ID) under the ticket's topic
(`ticket:42`): the sender turns the topic into a forum topic, or into replies to the ticket's
first message in a group without topics. Without a staff group they go to the assignee's
private chat.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process, utils

from domain.callbacks.events import CallbackProblemReported
from domain.messaging.model import EDIT_OF_PARAM
from domain.segments.rules import describe
from domain.shared.outbox import queue_to_chat, queue_to_member, queue_to_staff
from domain.shared.phones import mask_phone
from domain.shared.text import parse_id
from domain.staff.model import Role, StaffMember, admins, managers_else_admins
from domain.surveys.events import SurveyAnswered, SurveyCommented
from domain.surveys.model import SurveyKind, Trigger, check_score
from domain.tickets.events import RecoveryTicketOpened, TicketClosed, TicketResolved
from domain.tickets.model import (
    TEXT_MAX,
    AuditEntry,
    Author,
    Desk,
    FollowUpRun,
    Priority,
    StaffAction,
    Ticket,
    TicketMessage,
    TicketRefused,
    TicketStatus,
    new_ticket,
)
from domain.tickets.rules import (
    SYSTEM,
    card_buttons,
    local_time,
    may_work,
    member_actor,
    staff_actor,
    topic_of,
)

if TYPE_CHECKING:
    from domain.members.model import Member, Store
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork
    from domain.tickets.policy import TicketPolicy

log = logging.getLogger(__name__)
TOPIC_TITLE_MAX = 120  # Telegram allows 128 characters for a forum topic's name


def _require_work(staff: StaffMember, ticket: Ticket) -> None:
    if not may_work(staff, ticket):
        raise TicketRefused(
            f"{staff_actor(staff)} may not work {ticket.number}, assigned to another agent",
            key="desk.not_yours",
            number=ticket.number,
        )


async def load_ticket(uow: UnitOfWork, ticket_id: int, *, lock: bool = True) -> Ticket:
    """The ticket, locked for this transaction when `lock`; refused when there is none."""
    ticket = await uow.tickets.get(ticket_id, lock=lock)
    if ticket is None:
        raise TicketRefused(
            f"there is no ticket {ticket_id}", key="ticket.not_found",
            number=Ticket.number_of(ticket_id),
        )
    return ticket


async def _load_members_ticket(uow: UnitOfWork, ticket_id: int, member: Member) -> Ticket:
    """The member's own ticket, locked; another member's is as good as none."""
    ticket = await load_ticket(uow, ticket_id)
    if ticket.member_id != member.id:
        raise TicketRefused("not the member's ticket", key="ticket.not_found",
                            number=ticket.number)
    return ticket


def _require_active(ticket: Ticket) -> None:
    if not ticket.status.is_active:
        raise TicketRefused(f"{ticket.number} is {ticket.status.value}",
                            key="ticket.not_active", number=ticket.number)


async def _audit(
    uow: UnitOfWork,
    actor: str,
    action: str,
    now: datetime,
    *,
    ticket: Ticket | None = None,
    member_id: int | None = None,
    detail: str = "",
) -> None:
    await uow.audit.add(
        AuditEntry(
            actor=actor,
            action=action,
            at=now,
            ticket_id=ticket.id if ticket else None,
            member_id=member_id if member_id is not None or ticket is None else ticket.member_id,
            detail=detail[:300],
        )
    )


async def _save(uow: UnitOfWork, ticket: Ticket, policy: TicketPolicy, now: datetime) -> None:
    ticket.updated_at = now
    ticket.next_check_at = ticket.next_check(policy)
    await uow.tickets.save(ticket)


# -- outbox rows --------------------------------------------------------------------------


def _names(category: Any) -> dict[str, str]:
    if category is None:
        return {"en": "-", "zh": "-"}
    return {"en": category.name_en, "zh": category.name_zh}


def _topic_title(ticket: Ticket, policy: TicketPolicy) -> str:
    category = policy.category(ticket.category)
    name = category.name(policy.staff_language) if category else ticket.category
    return f"{ticket.number} · {name}"[:TOPIC_TITLE_MAX]


async def _to_staff(
    uow: UnitOfWork,
    policy: TicketPolicy,
    desk: Desk,
    ticket: Ticket,
    key: str,
    params: dict[str, Any],
    dedupe: str,
    now: datetime,
    *,
    buttons: list[list[dict[str, str]]] | None = None,
    photo_file_id: str | None = None,
) -> bool:
    """A message about a ticket for the staff: in the staff group under the ticket's topic, or,
    without a staff group, in the assignee's private chat (nobody's when unassigned)."""
    assert ticket.id is not None
    if desk.staff_chat_id is not None:
        return await queue_to_chat(
            uow, desk.staff_chat_id, key, params, dedupe, now, language=policy.staff_language,
            buttons=buttons, photo_file_id=photo_file_id, topic=topic_of(ticket.id),
            topic_title=_topic_title(ticket, policy),
        )
    if ticket.assignee_id is None:
        return False
    assignee = await uow.staff.get(ticket.assignee_id)
    if assignee is None or not assignee.active:
        return False
    return await queue_to_staff(
        uow, assignee.telegram_user_id, key, params, dedupe, now,
        default_language=policy.staff_language, buttons=buttons, photo_file_id=photo_file_id,
    )

def _card_params(
    ticket: Ticket, member: Member | None, store: Store | None, policy: Policy
) -> dict[str, Any]:
    """What the staff group sees of a new ticket: an agent's view (masked phone, no birthday)."""
    tier = policy.tier(member.tier) if member else None
    return {
        "number": ticket.number,
        "id": ticket.id,
        "category": _names(policy.tickets.category(ticket.category)),
        "priority": "🔴" if ticket.priority is Priority.HIGH else "⚪",
        "store": f"{store.code} {store.name}" if store else "-",
        "member": member.name if member else "?",
        "member_no": member.member_no if member else "?",
        "phone": mask_phone(member.phone or "") if member else "-",
        "tier": {"en": tier.name_en, "zh": tier.name_zh} if tier else "-",
        "first_due": local_time(ticket.first_response_due, policy.timezone),
        "resolution_due": local_time(ticket.resolution_due, policy.timezone),
        "description": ticket.description,
    }


# -- the member's side --------------------------------------------------------------------


async def open_ticket(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    member: Member,
    *,
    category: str,
    description: str,
    now: datetime,
    store_id: int | None = None,
    photo_file_ids: Sequence[str] = (),
    tags: tuple[str, ...] = (),
) -> Ticket:
    """Open a ticket with its SLA clocks, its first thread entries, and the card for the staff.

    `tags` say where it came from when not from the member's own complaint ("survey").
    """
    assert member.id is not None
    ticket = new_ticket(
        member_id=member.id,
        category=category,
        description=description,
        at=now,
        policy=policy.tickets,
        store_id=store_id,
        tags=tags,
    )
    ticket.updated_at = now
    ticket.next_check_at = ticket.next_check(policy.tickets)
    await uow.tickets.add(ticket)
    assert ticket.id is not None
    await uow.tickets.add_message(
        TicketMessage(ticket.id, Author.MEMBER, ticket.description, now, author_id=member.id)
    )
    photos = [
        await uow.tickets.add_message(
            TicketMessage(ticket.id, Author.MEMBER, "", now, author_id=member.id,
                          photo_file_id=file_id)
        )
        for file_id in photo_file_ids
    ]
    await _audit(uow, member_actor(member.id), "ticket.open", now, ticket=ticket,
                 detail=f"category {category}")
    store = await uow.stores.get(store_id) if store_id is not None else None
    await _to_staff(
        uow, policy.tickets, desk, ticket, "desk.card",
        {
            **_card_params(ticket, member, store, policy),
            # Segment, lifecycle and P(alive) help the desk judge what is at stake; they are
            # figures about buying, not contact data, so agents see them too.
            "segment": describe(await uow.segments.get(member.id), policy.segments),
        },
        f"ticket:{ticket.id}:card",
        now,
        buttons=card_buttons(ticket.id, policy.tickets),
    )
    for photo in photos:
        await _relay_to_staff(uow, policy, desk, ticket, member, photo, now)
    log.info("member %s opened ticket %s (%s)", member.member_no, ticket.number, category)
    return ticket


async def _relay_to_staff(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    ticket: Ticket,
    member: Member,
    message: TicketMessage,
    now: datetime,
) -> None:
    await _to_staff(
        uow, policy.tickets, desk, ticket, "desk.member_wrote",
        {"number": ticket.number, "member": member.name, "text": message.text or "📷"},
        f"ticket:{ticket.id}:msg:{message.id}", now, photo_file_id=message.photo_file_id,
    )


async def latest_active_ticket(uow: UnitOfWork, member_id: int) -> Ticket | None:
    """The ticket a member's next message belongs to: the most recently changed active one."""
    active = await uow.tickets.active_for_member(member_id)
    return active[0] if active else None


async def add_member_message(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    ticket_id: int,
    member: Member,
    *,
    text: str,
    now: datetime,
    photo_file_id: str | None = None,
) -> Ticket:
    """A member's message joins their ticket's thread and is relayed to the staff."""
    ticket = await _load_members_ticket(uow, ticket_id, member)
    ticket.member_wrote(now)
    assert ticket.id is not None and member.id is not None
    message = await uow.tickets.add_message(
        TicketMessage(ticket.id, Author.MEMBER, text.strip()[:TEXT_MAX], now, author_id=member.id,
                      photo_file_id=photo_file_id)
    )
    await _save(uow, ticket, policy.tickets, now)
    await _relay_to_staff(uow, policy, desk, ticket, member, message, now)
    return ticket


async def _refresh_card(
    uow: UnitOfWork, policy: TicketPolicy, desk: Desk, ticket: Ticket, now: datetime
) -> None:
    """The ticket's card in the staff group shows its new status, with buttons only while the
    ticket is active: nobody presses "take" on a closed ticket."""
    if desk.staff_chat_id is None or ticket.id is None:
        return
    await queue_to_chat(
        uow,
        desk.staff_chat_id,
        f"desk.card_now.{ticket.status.value}",
        {EDIT_OF_PARAM: f"ticket:{ticket.id}:card", "number": ticket.number},
        f"ticket:{ticket.id}:card:{ticket.status.value}:{int(now.timestamp())}",
        now,
        language=policy.staff_language,
        buttons=card_buttons(ticket.id, policy) if ticket.status.is_active else [],
    )


async def reopen_ticket(
    uow: UnitOfWork, policy: Policy, desk: Desk, ticket_id: int, member: Member, now: datetime
) -> Ticket:
    """The member says it is not solved: within the window the ticket goes back to staff."""
    ticket = await _load_members_ticket(uow, ticket_id, member)
    ticket.reopen(now, policy.tickets)
    assert ticket.id is not None and member.id is not None
    await uow.tickets.add_message(
        TicketMessage(ticket.id, Author.SYSTEM, "reopened by the member", now)
    )
    await _save(uow, ticket, policy.tickets, now)
    await _audit(uow, member_actor(member.id), "ticket.reopen", now, ticket=ticket)
    await _refresh_card(uow, policy.tickets, desk, ticket, now)
    await _to_staff(
        uow, policy.tickets, desk, ticket, "desk.reopened", {"number": ticket.number},
        f"ticket:{ticket.id}:reopened:{int(now.timestamp())}", now,
        buttons=card_buttons(ticket.id, policy.tickets)[:2],
    )
    return ticket


async def rate_ticket(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    ticket_id: int,
    member: Member,
    score: int,
    now: datetime,
) -> Ticket:
    """The member's satisfaction with a closed ticket, 1 to 5 (the answer to the survey after
    the ticket, see domain.surveys); a second answer replaces it."""
    try:
        check_score(SurveyKind.CSAT, score)
    except ValueError as exc:
        raise TicketRefused(str(exc), key="button.expired") from exc
    ticket = await _load_members_ticket(uow, ticket_id, member)
    first = ticket.satisfaction is None
    ticket.rate(score, now)
    await _save(uow, ticket, policy.tickets, now)
    assert member.id is not None
    await _audit(uow, member_actor(member.id), "ticket.rate", now, ticket=ticket,
                 detail=f"score {score}")
    if first:
        await _to_staff(
            uow, policy.tickets, desk, ticket, "desk.rated",
            {"number": ticket.number, "score": score}, f"ticket:{ticket.id}:rated", now,
        )
    return ticket


async def staff_reply(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    ticket_id: int,
    staff: StaffMember,
    *,
    text: str,
    now: datetime,
    photo_file_id: str | None = None,
) -> Ticket:
    """Staff answer the member: the thread records it and the member gets it at once.

    An unassigned ticket goes to whoever answers it first.
    """
    ticket = await load_ticket(uow, ticket_id)
    _require_work(staff, ticket)
    ticket.staff_replied(now)
    if ticket.assignee_id is None:
        ticket.assignee_id = staff.id
    assert ticket.id is not None
    body = text.strip()[:TEXT_MAX]
    message = await uow.tickets.add_message(
        TicketMessage(ticket.id, Author.STAFF, body, now, author_id=staff.id,
                      photo_file_id=photo_file_id)
    )
    await _save(uow, ticket, policy.tickets, now)
    await _audit(uow, staff_actor(staff), "ticket.reply", now, ticket=ticket,
                 detail=f"message {message.id}" + (" with photo" if photo_file_id else ""))
    await queue_to_member(
        uow, ticket.member_id, "ticket.staff_reply",
        {"number": ticket.number, "text": body or "📷"},
        f"ticket:{ticket.id}:msg:{message.id}", now, photo_file_id=photo_file_id,
    )
    return ticket


async def staff_note(
    uow: UnitOfWork,
    policy: Policy,
    ticket_id: int,
    staff: StaffMember,
    *,
    text: str,
    now: datetime,
    photo_file_id: str | None = None,
) -> Ticket:
    """An internal note: in the thread for the staff, never shown to the member."""
    ticket = await load_ticket(uow, ticket_id)
    assert ticket.id is not None
    message = await uow.tickets.add_message(
        TicketMessage(ticket.id, Author.STAFF, text.strip()[:TEXT_MAX], now, author_id=staff.id,
                      photo_file_id=photo_file_id, internal=True)
    )
    await _save(uow, ticket, policy.tickets, now)
    await _audit(uow, staff_actor(staff), "ticket.note", now, ticket=ticket,
                 detail=f"message {message.id}")
    return ticket


async def act_on_ticket(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    ticket_id: int,
    staff: StaffMember,
    action: StaffAction,
    now: datetime,
) -> Ticket:
    """Take, resolve, close or escalate, with what the member and the managers are told."""
    ticket = await load_ticket(uow, ticket_id)
    _require_work(staff, ticket)
    assert ticket.id is not None
    if action is StaffAction.TAKE:
        _require_active(ticket)
        ticket.assignee_id = staff.id
    elif action is StaffAction.RESOLVE:
        ticket.resolve(now)
        if ticket.assignee_id is None:
            ticket.assignee_id = staff.id
        await uow.record(TicketResolved.of(ticket, now))
        await queue_to_member(
            uow, ticket.member_id, "ticket.resolved",
            {"number": ticket.number, "days": policy.tickets.reopen_days},
            f"ticket:{ticket.id}:resolved:{int(now.timestamp())}", now,
            buttons=[[{"key": "ticket.reopen_button", "data": f"ct:reopen:{ticket.id}"}]],
        )
    elif action is StaffAction.CLOSE:
        ticket.close(now, reason="staff")
        await _announce_closed(
            uow, policy, ticket, "ticket.closed_notice", {"number": ticket.number}, now
        )
    else:
        ticket.escalate(now)
        await _alert(
            uow, policy, desk, ticket,
            managers_else_admins(await uow.staff.list(), desk.admin_ids), "desk.escalated",
            {"number": ticket.number, "id": ticket.id, "by": staff.shown_name},
            f"ticket:{ticket.id}:escalated", now,
        )
    await _save(uow, ticket, policy.tickets, now)
    await _audit(uow, staff_actor(staff), f"ticket.{action.value}", now, ticket=ticket)
    if action in (StaffAction.RESOLVE, StaffAction.CLOSE):
        await _refresh_card(uow, policy.tickets, desk, ticket, now)
    return ticket


async def _announce_closed(
    uow: UnitOfWork,
    policy: Policy,
    ticket: Ticket,
    key: str,
    params: dict[str, Any],
    now: datetime,
) -> None:
    """The one closing message a member gets (closed is final); surveys hear of it.

    How it went is asked by the survey after tickets ([surveys] after_ticket), which reacts to
    `TicketClosed`: its answer is the ticket's rating, and it counts in the survey reports like
    every other answer.
    """
    assert ticket.id is not None
    await queue_to_member(
        uow, ticket.member_id, key, params, f"ticket:{ticket.id}:closed", now
    )
    await uow.record(TicketClosed.of(ticket, now))


async def assign_ticket(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    ticket_id: int,
    staff: StaffMember,
    assignee: StaffMember,
    now: datetime,
) -> Ticket:
    """Give a ticket to a colleague (managers and admins; an agent may only take it)."""
    ticket = await load_ticket(uow, ticket_id)
    if assignee.id != staff.id and staff.role is Role.AGENT:
        raise TicketRefused("agents assign only to themselves", key="desk.assign_not_allowed")
    _require_work(staff, ticket)
    _require_active(ticket)
    if not assignee.active or assignee.id is None:
        raise TicketRefused("inactive staff account", key="desk.no_such_staff",
                            who=assignee.shown_name)
    ticket.assignee_id = assignee.id
    await _save(uow, ticket, policy.tickets, now)
    await _audit(uow, staff_actor(staff), "ticket.assign", now, ticket=ticket,
                 detail=f"to staff:{assignee.telegram_user_id}")
    if assignee.id != staff.id:
        category = policy.tickets.category(ticket.category)
        await queue_to_staff(
            uow, assignee.telegram_user_id, "desk.assigned",
            {"number": ticket.number, "id": ticket.id, "category": _names(category),
             "by": staff.shown_name},
            f"ticket:{ticket.id}:assigned:{assignee.id}:{int(now.timestamp())}", now,
            default_language=policy.tickets.staff_language,
        )
    return ticket


async def find_staff(uow: UnitOfWork, query: str) -> StaffMember | None:
    """A colleague by Telegram id, @name or display name (forgiving small typos)."""
    wanted = query.strip().lstrip("@")
    if not wanted:
        return None
    accounts = [s for s in await uow.staff.list() if s.active]
    for account in accounts:
        if account.telegram_user_id == wanted:
            return account
    folded = wanted.casefold()
    for account in accounts:
        if account.display_name and account.display_name.casefold() == folded:
            return account
    named = {i: s.display_name for i, s in enumerate(accounts) if s.display_name}
    best = process.extractOne(wanted, named, scorer=fuzz.WRatio,
                              processor=utils.default_process, score_cutoff=85)
    return accounts[best[2]] if best else None


async def tickets_due_for_follow_up(uow: UnitOfWork, now: datetime, limit: int) -> list[int]:
    """Ids of tickets with a follow-up due by `now`, the most overdue first."""
    return await uow.tickets.due_for_check(now, limit)


async def follow_up_ticket(
    uow: UnitOfWork, policy: Policy, desk: Desk, ticket_id: int, now: datetime, run: FollowUpRun
) -> None:
    """Everything due on one ticket by `now`: SLA reminders and breach alerts, reminders to a
    member who owes an answer, closing a ticket nobody answered or nobody reopened, the
    check-in after closing.

    The ticket is locked, so a staff member acting on it at the same moment waits a little
    rather than being overwritten. Every message has a dedupe key
    (`ticket:42:sla:first_response:warn`): a rerun, or a second scheduler, queues nothing twice.
    """
    ticket = await uow.tickets.get(ticket_id, lock=True)
    if ticket is None or ticket.next_check_at is None or ticket.next_check_at > now:
        return  # handled by someone else meanwhile
    await _check(uow, policy, desk, ticket, now, run)
    run.checked += 1


async def _check(
    uow: UnitOfWork, policy: Policy, desk: Desk, ticket: Ticket, now: datetime, run: FollowUpRun
) -> None:
    rules = policy.tickets
    assert ticket.id is not None
    if (
        ticket.status is TicketStatus.RESOLVED
        and ticket.resolved_at is not None
        and now >= ticket.resolved_at + timedelta(days=rules.reopen_days)
    ):
        # Nobody reopened it in time: it is final now, and the member is asked how it went.
        await _close_on_schedule(
            uow, policy, desk, ticket, now, run, reason="resolved",
            key="ticket.closed_notice", params={"number": ticket.number},
            detail=f"not reopened within {rules.reopen_days} days",
        )
    elif ticket.status is TicketStatus.WAITING_MEMBER and ticket.waiting_since is not None:
        waited = now - ticket.waiting_since
        if waited >= timedelta(days=rules.auto_close_days):
            await _close_on_schedule(
                uow, policy, desk, ticket, now, run, reason="no_answer",
                key="ticket.auto_closed",
                params={"number": ticket.number, "days": rules.auto_close_days},
                detail=f"no answer from the member for {rules.auto_close_days} days",
                staff_key="desk.auto_closed",
            )
        elif (
            waited >= timedelta(days=rules.member_reminder_days)
            and ticket.member_reminded_at is None
        ):
            left = rules.auto_close_days - rules.member_reminder_days
            await queue_to_member(
                uow, ticket.member_id, "ticket.member_reminder",
                {"number": ticket.number, "days": left},
                f"ticket:{ticket.id}:waiting:{int(ticket.waiting_since.timestamp())}:reminder",
                now, quiet_hours=True,
            )
            ticket.member_reminded_at = now
            run.member_reminders += 1
    await _check_sla(uow, policy, desk, ticket, now, run)
    if (
        ticket.status is TicketStatus.CLOSED
        and ticket.closed_at is not None
        and ticket.followed_up_at is None
        and now >= ticket.closed_at + timedelta(days=rules.follow_up_days)
    ):
        await queue_to_member(
            uow, ticket.member_id, "ticket.follow_up", {"number": ticket.number},
            f"ticket:{ticket.id}:follow-up", now, quiet_hours=True,
        )
        ticket.followed_up_at = now
        run.follow_ups += 1
    ticket.updated_at = now
    ticket.next_check_at = ticket.next_check(rules)
    if ticket.next_check_at is not None and ticket.next_check_at <= now:
        # Should not happen; never let one ticket keep the job busy.
        log.warning("ticket %s is still due after its check; looking again in an hour",
                    ticket.number)
        ticket.next_check_at = now + timedelta(hours=1)
    await uow.tickets.save(ticket)


async def _close_on_schedule(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    ticket: Ticket,
    now: datetime,
    run: FollowUpRun,
    *,
    reason: str,
    key: str,
    params: dict[str, Any],
    detail: str,
    staff_key: str | None = None,
) -> None:
    """The follow-up closes a ticket: the member is told (`key`), the staff too when
    `staff_key` says so (with the same `params`), the audit says why and the card shows it."""
    ticket.close(now, reason=reason)
    await _announce_closed(uow, policy, ticket, key, params, now)
    if staff_key is not None:
        await _to_staff(uow, policy.tickets, desk, ticket, staff_key, params,
                        f"ticket:{ticket.id}:auto-closed", now)
    await _audit(uow, SYSTEM, "ticket.close", now, ticket=ticket, detail=detail)
    await _refresh_card(uow, policy.tickets, desk, ticket, now)
    run.auto_closed += 1


async def _check_sla(
    uow: UnitOfWork, policy: Policy, desk: Desk, ticket: Ticket, now: datetime, run: FollowUpRun
) -> None:
    alerts = ticket.sla_alerts_due(now, policy.tickets.reminder_share)
    if not alerts:
        return
    assert ticket.id is not None
    accounts = await uow.staff.list()
    staff = {s.id: s for s in accounts if s.id is not None}
    assignee = staff.get(ticket.assignee_id) if ticket.assignee_id is not None else None
    for clock, level in alerts:
        due = ticket.first_response_due if clock == "first_response" else ticket.resolution_due
        params = {
            "number": ticket.number,
            "id": ticket.id,
            "due": local_time(due, policy.timezone),
            "assignee": assignee.shown_name if assignee else "-",
        }
        key = f"ticket:{ticket.id}:sla:{clock}:{level}"
        if level == "warn":
            if assignee is not None and assignee.active:
                await queue_to_staff(uow, assignee.telegram_user_id, f"desk.sla_warn.{clock}",
                                     params, key, now,
                                     default_language=policy.tickets.staff_language)
            else:  # nobody holds it: the whole team is reminded where the ticket lives
                await _to_staff(uow, policy.tickets, desk, ticket, f"desk.sla_warn.{clock}",
                                params, key, now)
            run.warned += 1
        elif level == "breach":
            await _alert(uow, policy, desk, ticket,
                         managers_else_admins(accounts, desk.admin_ids),
                         f"desk.sla_breach.{clock}", params, key, now)
            run.breached += 1
        else:
            # Breached and still unanswered a whole SLA period later: the next level hears.
            await _alert(uow, policy, desk, ticket, admins(accounts, desk.admin_ids),
                         f"desk.sla_escalate.{clock}", params, key, now)
            run.escalated += 1
        ticket.sla_tell(clock, level)
        await _audit(uow, SYSTEM, f"ticket.sla_{level}", now, ticket=ticket, detail=clock)


async def _alert(
    uow: UnitOfWork,
    policy: Policy,
    desk: Desk,
    ticket: Ticket,
    recipients: Sequence[StaffMember],
    key: str,
    params: dict[str, Any],
    dedupe: str,
    now: datetime,
) -> int:
    """What goes over an agent's head (an escalation, an SLA breach): each recipient, the
    managers (else the admins) or the admins, in their private chat under their own dedupe
    key; with nobody to tell, the staff group (or the assignee) hears instead, so it always
    reaches someone. How many messages were queued."""
    queued = 0
    for account in recipients:
        queued += await queue_to_staff(
            uow, account.telegram_user_id, key, params, f"{dedupe}:{account.telegram_user_id}",
            now, default_language=policy.tickets.staff_language,
        )
    if not recipients:
        queued += await _to_staff(uow, policy.tickets, desk, ticket, key, params, dedupe, now)
    return queued


# -- reacting to other features ---------------------------------------------------------------


async def when_survey_answered(
    uow: UnitOfWork, event: SurveyAnswered, *, policy: Policy, desk: Desk
) -> None:
    """A survey answer may rate a closed ticket, and a detractor's opens a call-back ticket."""
    if event.trigger is Trigger.TICKET and event.kind is SurveyKind.CSAT:
        await _rate_from_survey(uow, policy, desk, event)
    if event.recovery:
        await _open_recovery(uow, policy, desk, event)


async def _rate_from_survey(
    uow: UnitOfWork, policy: Policy, desk: Desk, event: SurveyAnswered
) -> None:
    """The answer to the survey after a ticket is the ticket's rating too: the desk sees it."""
    member = await uow.members.get(event.member_id)
    ticket_id = parse_id(event.trigger_ref)
    if member is None or ticket_id is None:
        return
    try:
        await rate_ticket(uow, policy, desk, ticket_id, member, event.score,
                          event.at)
    except TicketRefused:
        log.info("ticket %s takes no rating now; the survey answer is kept", event.trigger_ref)


async def _open_recovery(
    uow: UnitOfWork, policy: Policy, desk: Desk, event: SurveyAnswered
) -> None:
    """A detractor gets a call back: a complaint ticket tagged `survey` with their answer,
    whose card shows the staff the member's profile."""
    member = await uow.members.get(event.member_id)
    if member is None:
        return
    ticket = await open_ticket(
        uow,
        policy,
        desk,
        member,
        category=policy.tickets.category_or_last(event.recovery_category),
        description=event.recovery_description,
        now=event.at,
        store_id=event.store_id,
        tags=("survey",),
    )
    assert ticket.id is not None
    log.info("survey answer %s opened call-back ticket %s", event.answer_id, ticket.number)
    await uow.record(
        RecoveryTicketOpened(
            at=event.at, answer_id=event.answer_id, ticket_id=ticket.id, number=ticket.number
        )
    )


async def when_survey_commented(
    uow: UnitOfWork, event: SurveyCommented, *, policy: Policy, desk: Desk
) -> None:
    """A comment on an answer with a call-back ticket joins that ticket's thread."""
    if event.recovery_ticket_id is None:
        return
    member = await uow.members.get(event.member_id)
    if member is None:
        return
    try:
        await add_member_message(
            uow, policy, desk, event.recovery_ticket_id, member, text=event.comment, now=event.at
        )
    except TicketRefused:
        # Staff closed the call-back already: the comment stays with the answer and in the
        # weekly summary.
        log.info("call-back ticket %s is closed; survey comment kept with the answer",
                 event.recovery_ticket_id)


async def when_callback_problem_reported(
    uow: UnitOfWork, event: CallbackProblemReported, *, policy: Policy, desk: Desk
) -> None:
    """A member told a callback (the bot's check-in or a staff call) of a problem: a ticket
    tagged `callback`, with the callback's context, relayed to the staff like any other."""
    member = await uow.members.get(event.member_id)
    if member is None:
        return
    ticket = await open_ticket(
        uow, policy, desk, member, category=policy.tickets.category_or_last(event.category),
        description=event.description,
        now=event.at, store_id=event.store_id, tags=("callback",),
    )
    log.info("callback %s opened ticket %s", event.callback_id, ticket.number)
