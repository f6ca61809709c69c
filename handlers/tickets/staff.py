"""The staff desk in Telegram: ticket cards in the staff group, relaying replies, staff commands.

In the staff group (STAFF_CHAT_ID) each ticket has its topic, or, in a group without topics,
its card: a staff member's text or photo in the topic, or in reply to the card or to a relayed
message, goes to the member; one that starts with `#note` stays an internal note. The card's
buttons take, resolve, close or escalate the ticket, or send a canned reply after a preview.

In a private chat with the bot staff have /queue, /ticket N, /reply N text, /note N text,
/take N, /assign N @who, /resolve N, /close N, /escalate N, /member QUERY and /desk (this list).
Every one of them first checks that the sender is staff; anyone else gets exactly the answer
an unknown command gets, and the attempt is logged. Personal data is shown by need (see
domain.tickets.services): the staff group always sees an agent's view.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from domain.segments.rules import describe
from domain.shared.errors import DomainError
from domain.shared.text import parse_id
from domain.staff.model import StaffMember
from domain.tickets.model import Priority, StaffAction, Ticket, TicketStatus
from domain.tickets.rules import canned_label, local_time, parse_ticket_number, ticket_of_topic
from domain.tickets.services import (
    act_on_ticket,
    assign_ticket,
    find_staff,
    load_ticket,
    staff_note,
    staff_reply,
)
from domain.tickets.views import (
    MemberProfile,
    TicketView,
    search_members,
    staff_by_id,
    ticket_queue,
    view_ticket,
)
from handlers.coupons.member import staff_of
from handlers.i18n import money
from handlers.routing import Context, Handler, Router, buttons, say
from handlers.tickets.member import category_name
from handlers.types import Button, InboundKind, Outcome, Reply

log = logging.getLogger(__name__)
router = Router()

NOTE_MARK = "#note"
QUEUE_SHOWN = 20
StaffHandler = Callable[[Context, StaffMember], Awaitable[Outcome]]
# staff, ticket id, text, photo: a reply or a note
TicketWriter = Callable[[Context, StaffMember, int, str, str | None], Awaitable[Outcome]]


async def desk_staff(ctx: Context) -> StaffMember | None:
    """The sender's staff account; an ADMIN_IDS admin gets one the first time they act, so
    tickets can be assigned to them and the audit names them like everybody else."""
    staff = await staff_of(ctx)
    if staff is None or staff.id is not None:
        return staff
    staff.display_name = (ctx.inbound.display_name or "admin")[:120]
    async with ctx.deps.uow_factory() as uow:
        staff = await uow.staff.save(staff)
        await uow.commit()
    return staff


def unknown_command(ctx: Context) -> Outcome:
    """What a member gets for a staff command: the same as for a command that does not exist."""
    log.warning(
        "user %s (not staff) sent /%s; answered as an unknown command",
        ctx.inbound.user_id, ctx.inbound.command[:32],
    )
    return Outcome((Reply("command.unknown", {"command": ctx.inbound.command[:32]}),))


async def in_staff_words(step: Awaitable[Outcome]) -> Outcome:
    """A missing ticket is told in the desk's words, not the member's ("Send /tickets to see
    yours" means nothing to an agent)."""
    try:
        return await step
    except DomainError as exc:
        if exc.key == "ticket.not_found":
            return say("desk.ticket_not_found", **exc.params)
        raise


def staff_command(*names: str) -> Callable[[StaffHandler], Handler]:
    """A command only staff may use; it is left out of the command menu members see."""

    def register(handler: StaffHandler) -> Handler:
        async def guarded(ctx: Context) -> Outcome:
            staff = await desk_staff(ctx)
            if staff is None:
                return unknown_command(ctx)
            return await in_staff_words(handler(ctx, staff))

        guarded.__doc__ = handler.__doc__
        return router.command(*names)(guarded)

    return register


def status_name(ctx: Context, status: TicketStatus) -> str:
    """A status as staff say it ("waiting for the member"), not as the member reads it."""
    return ctx.t(f"desk.status.{status.value}")


def _private(ctx: Context) -> bool:
    return ctx.inbound.is_private


def _number_and_rest(ctx: Context) -> tuple[int | None, str]:
    head, _, rest = ctx.inbound.payload.strip().partition(" ")
    return parse_ticket_number(head), rest.strip()


async def _target(ctx: Context) -> tuple[int | None, str]:
    """The ticket a command names; in a ticket's topic of the staff group it may name none
    ("/resolve" there resolves that ticket)."""
    number, rest = _number_and_rest(ctx)
    if number is None and not ctx.inbound.is_private:
        found = await _ticket_of(ctx)
        if found is not None:
            return found, ctx.inbound.payload.strip()
    return number, rest


# -- commands ------------------------------------------------------------------------------


@staff_command("desk")
async def desk_help(ctx: Context, staff: StaffMember) -> Outcome:
    """/desk: the staff commands."""
    return say("desk.help", role=ctx.t(f"desk.role.{staff.role.value}"))


@staff_command("queue")
async def queue(ctx: Context, staff: StaffMember) -> Outcome:
    """/queue: active tickets, the most urgent SLA first."""
    async with ctx.deps.uow_factory() as uow:
        view = await ticket_queue(uow, ctx.now, QUEUE_SHOWN)
    if not view.tickets:
        return say("desk.queue_empty")
    share = ctx.deps.policy.tickets.reminder_share
    lines = []
    for ticket in view.tickets:
        stage = ticket.sla_stage(ctx.now, share)
        flag = "🔴" if stage and stage[1] == "breach" else "🟠" if stage else "🟢"
        lines.append(
            ctx.t(
                "desk.queue_line",
                flag=flag,
                number=ticket.number,
                priority="‼️" if ticket.priority is Priority.HIGH else "",
                category=category_name(ctx, ticket),
                status=status_name(ctx, ticket.status),
                due=local_time(ticket.sla_due, ctx.deps.policy.timezone)[5:],
                assignee=staff_by_id(view.staff, ticket.assignee_id),
            )
        )
    counts = view.counts
    return say(
        "desk.queue",
        active=counts.active,
        breached=counts.breached,
        unassigned=counts.unassigned,
        shown=len(lines),
        lines="\n".join(lines),
    )


@staff_command("ticket")
async def ticket(ctx: Context, staff: StaffMember) -> Outcome:
    """/ticket N: the whole thread and the member's profile (viewing it is audited)."""
    number, _ = await _target(ctx)
    if number is None:
        return say("desk.usage_ticket")
    return await _show_ticket(ctx, staff, number)


async def _show_ticket(ctx: Context, staff: StaffMember, ticket_id: int) -> Outcome:
    async with ctx.deps.uow_factory() as uow:
        view = await view_ticket(uow, ticket_id, staff, private_chat=_private(ctx), now=ctx.now)
        await uow.commit()  # the audit row
    return Outcome((_ticket_reply(ctx, view),))


def _ticket_reply(ctx: Context, view: TicketView) -> Reply:
    ticket, tz = view.ticket, ctx.deps.policy.timezone
    thread = [
        ctx.t(
            "desk.thread_line",
            when=local_time(m.at, tz)[5:],
            who=_author(ctx, view, m.author.value, m.author_id, m.internal),
            text=(m.text or "") + (" 📷" if m.photo_file_id else ""),
        )
        for m in view.messages
    ]
    profile = _profile_text(ctx, view.profile) if view.profile else ctx.t("desk.member_gone")
    assert ticket.id is not None
    return Reply(
        "desk.ticket",
        {
            "number": ticket.number,
            "category": category_name(ctx, ticket),
            "priority": ctx.t(f"desk.priority.{ticket.priority.value}"),
            "status": status_name(ctx, ticket.status),
            "store": f"{view.store.code} {view.store.name}" if view.store else "-",
            "assignee": staff_by_id(view.staff, ticket.assignee_id),
            "opened": local_time(ticket.created_at, tz),
            "due": local_time(ticket.sla_due, tz),
            "satisfaction": ticket.satisfaction if ticket.satisfaction is not None else "-",
            "profile": profile,
            "thread": "\n".join(thread),
        },
        buttons=card_buttons(ctx, ticket),
    )


def _author(
    ctx: Context, view: TicketView, author: str, author_id: int | None, internal: bool
) -> str:
    if internal:
        return ctx.t("desk.author_note", name=staff_by_id(view.staff, author_id))
    if author == "staff":
        return ctx.t("desk.author_staff", name=staff_by_id(view.staff, author_id))
    if author == "member":
        return ctx.t("desk.author_member")
    return ctx.t("desk.author_system")


def _profile_text(ctx: Context, profile: MemberProfile) -> str:
    member, tz, policy = profile.member, ctx.deps.policy.timezone, ctx.deps.policy
    purchases = [
        ctx.t(
            "desk.purchase_line",
            when=local_time(r.occurred_at, tz)[:10],
            store=profile.stores[r.store_id].code if r.store_id in profile.stores else "-",
            amount=money(ctx.lang, r.amount, r.currency),
        )
        for r in profile.receipts
    ]
    past = [
        ctx.t("desk.past_ticket_line", number=t.number, category=category_name(ctx, t),
              status=status_name(ctx, t.status))
        for t in profile.tickets
    ]
    birthday = profile.birthday
    return ctx.t(
        "desk.profile",
        name=member.name,
        member_no=member.member_no,
        phone=profile.phone,
        birthday=birthday if birthday is not None else ctx.t("desk.hidden"),
        tier=policy.tier(member.tier).name(ctx.lang),
        points=profile.balance,
        purchases="\n".join(purchases) or ctx.t("desk.none"),
        tickets="\n".join(past) or ctx.t("desk.none"),
    ) + "\n" + ctx.t(
        "segments.profile_line",
        figures=describe(profile.segment, policy.segments)[ctx.lang],
    )


def card_buttons(ctx: Context, ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    """The ticket card's buttons, as /ticket shows them; the same as on the staff group card."""
    assert ticket.id is not None
    rows = [
        [Button("desk.take_button", f"tk:take:{ticket.id}"),
         Button("desk.resolve_button", f"tk:res:{ticket.id}")],
        [Button("desk.close_button", f"tk:close:{ticket.id}"),
         Button("desk.escalate_button", f"tk:esc:{ticket.id}")],
    ]
    canned = [
        Button("desk.canned_button", f"tk:cn:{ticket.id}:{reply.key}",
               literal=canned_label(reply.text(ctx.lang)))
        for reply in ctx.deps.policy.tickets.canned
    ]
    rows.extend(canned[i : i + 2] for i in range(0, len(canned), 2))
    return buttons(*rows) if ticket.status.is_active else ()


async def _reply(
    ctx: Context, staff: StaffMember, ticket_id: int, text: str, photo_file_id: str | None
) -> Outcome:
    async with ctx.deps.uow_factory() as uow:
        ticket = await staff_reply(
            uow, ctx.deps.policy, ctx.deps.desk, ticket_id, staff, text=text, now=ctx.now,
            photo_file_id=photo_file_id,
        )
        await uow.commit()
    log.info("staff %s replied on %s", staff.telegram_user_id, ticket.number)
    return say("desk.replied", number=ticket.number)


async def _note(
    ctx: Context, staff: StaffMember, ticket_id: int, text: str, photo_file_id: str | None
) -> Outcome:
    async with ctx.deps.uow_factory() as uow:
        ticket = await staff_note(uow, ctx.deps.policy, ticket_id, staff, text=text,
                                  now=ctx.now, photo_file_id=photo_file_id)
        await uow.commit()
    return say("desk.noted", number=ticket.number)


def _text_command(name: str, doc: str, write: TicketWriter) -> None:
    """/NAME N text: `write` adds the text to ticket N (desk.usage_NAME when either is missing)."""

    async def command(ctx: Context, staff: StaffMember) -> Outcome:
        number, text = _number_and_rest(ctx)
        if number is None or not text:
            return say(f"desk.usage_{name}")
        return await write(ctx, staff, number, text, None)

    command.__doc__ = doc
    staff_command(name)(command)


_text_command("reply", "/reply N text: the text goes to the member.", _reply)
_text_command("note", "/note N text: an internal note the member never sees.", _note)


@staff_command("assign")
async def assign_command(ctx: Context, staff: StaffMember) -> Outcome:
    """/assign N @who: give the ticket to a colleague (by @name, name or Telegram id)."""
    number, who = await _target(ctx)
    if number is None or not who:
        return say("desk.usage_assign")
    async with ctx.deps.uow_factory() as uow:
        assignee = await find_staff(uow, who)
    if assignee is None:
        return say("desk.no_such_staff", who=who[:40])
    async with ctx.deps.uow_factory() as uow:
        ticket = await assign_ticket(uow, ctx.deps.policy, ctx.deps.desk, number, staff,
                                     assignee, ctx.now)
        await uow.commit()
    return say("desk.assigned_done", number=ticket.number,
               who=assignee.shown_name)


def _action_command(action: StaffAction, *names: str) -> None:
    @staff_command(*names)
    async def command(ctx: Context, staff: StaffMember) -> Outcome:
        number, _ = await _target(ctx)
        if number is None:
            return say("desk.usage_action", command=names[0])
        return await _act(ctx, staff, number, action)

    command.__doc__ = f"/{names[0]} N: {action.value} the ticket."


_action_command(StaffAction.TAKE, "take")
_action_command(StaffAction.RESOLVE, "resolve")
_action_command(StaffAction.CLOSE, "close")
_action_command(StaffAction.ESCALATE, "escalate")


async def _act(ctx: Context, staff: StaffMember, ticket_id: int, action: StaffAction) -> Outcome:
    async with ctx.deps.uow_factory() as uow:
        ticket = await act_on_ticket(uow, ctx.deps.policy, ctx.deps.desk, ticket_id, staff,
                                     action, ctx.now)
        await uow.commit()
    log.info("staff %s: %s %s", staff.telegram_user_id, action.value, ticket.number)
    return say(f"desk.done.{action.value}", number=ticket.number,
               who=staff.shown_name)


@staff_command("member")
async def member_command(ctx: Context, staff: StaffMember) -> Outcome:
    """/member QUERY: a member by phone, member number or name (typos forgiven)."""
    query = ctx.inbound.payload.strip()
    if not query:
        return say("desk.usage_member")
    async with ctx.deps.uow_factory() as uow:
        found = await search_members(uow, ctx.deps.policy, staff, query,
                                     private_chat=_private(ctx), now=ctx.now)
        await uow.commit()  # the audit rows
    if not found:
        return say("desk.member_none")
    return Outcome(tuple(Reply("desk.member_card", {"profile": _profile_text(ctx, p)})
                         for p in found))


# -- the card's buttons ---------------------------------------------------------------------

_BUTTON_ACTIONS = {
    "take": StaffAction.TAKE,
    "res": StaffAction.RESOLVE,
    "close": StaffAction.CLOSE,
    "esc": StaffAction.ESCALATE,
}


@router.button("tk")
async def card_button(ctx: Context) -> Outcome:
    """Ticket card buttons: take, resolve, close, escalate, canned replies, view."""
    staff = await desk_staff(ctx)
    if staff is None:
        # Members never see these buttons: the data was made up. Same answer as a stale button.
        log.warning("user %s (not staff) pressed a desk button; refused", ctx.inbound.user_id)
        return say("button.expired")
    parts = ctx.inbound.payload.split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "x":
        return Outcome((Reply("desk.cancelled", edit=True),))
    ticket_id = parse_id(parts[2]) if len(parts) > 2 else None
    if ticket_id is None:
        return say("button.expired")
    if action in _BUTTON_ACTIONS:
        return await in_staff_words(_act(ctx, staff, ticket_id, _BUTTON_ACTIONS[action]))
    if action == "view":
        return await in_staff_words(_show_ticket(ctx, staff, ticket_id))
    if action in ("cn", "cs") and len(parts) == 4:
        return await in_staff_words(
            _canned(ctx, staff, ticket_id, parts[3], send=action == "cs")
        )
    return say("button.expired")


async def _canned(
    ctx: Context, staff: StaffMember, ticket_id: int, key: str, *, send: bool
) -> Outcome:
    """A canned reply: first a preview in the member's language, then sent on confirmation."""
    canned = next((c for c in ctx.deps.policy.tickets.canned if c.key == key), None)
    if canned is None:
        return say("button.expired")
    async with ctx.deps.uow_factory() as uow:
        ticket = await load_ticket(uow, ticket_id, lock=False)
        member = await uow.members.get(ticket.member_id)
        chats = await uow.chat_users.for_member(ticket.member_id)
    lang = chats[-1].effective_language() if chats else (member.language if member else None)
    text = canned.text(lang or ctx.lang)
    if not send:
        return Outcome(
            (
                Reply(
                    "desk.canned_preview",
                    {"number": ticket.number, "text": text},
                    buttons=buttons(
                        [
                            Button("desk.canned_send_button", f"tk:cs:{ticket_id}:{key}"),
                            Button("desk.cancel_button", "tk:x"),
                        ]
                    ),
                ),
            )
        )
    outcome = await _reply(ctx, staff, ticket_id, text, None)
    return Outcome(tuple(Reply(r.key, r.params, edit=True) for r in outcome.replies))


# -- the staff group ------------------------------------------------------------------------


@router.state("group")
async def staff_group_message(ctx: Context) -> Outcome:
    """A message in a group: in the staff group, inside a ticket's topic or in reply to one of
    its messages, staff text and photos go to the member (#note: internal). Everything else in
    any group is chatter the bot leaves alone."""
    inbound = ctx.inbound
    desk = ctx.deps.desk
    if desk.staff_chat_id is None or inbound.chat_id != desk.staff_chat_id:
        return Outcome()
    if inbound.kind not in (InboundKind.TEXT, InboundKind.PHOTO):
        return Outcome()
    ticket_id = await _ticket_of(ctx)
    if ticket_id is None:
        return Outcome()
    staff = await desk_staff(ctx)
    if staff is None:
        log.warning("user %s (not staff) wrote in ticket %s's thread; not relayed",
                    inbound.user_id, ticket_id)
        return Outcome()
    photo_id = inbound.payload if inbound.kind is InboundKind.PHOTO else None
    text = inbound.text if inbound.kind is InboundKind.PHOTO else inbound.payload
    if text.strip().lower().startswith(NOTE_MARK):
        return await _note(ctx, staff, ticket_id, text.strip()[len(NOTE_MARK):].strip(),
                           photo_id)
    if not text.strip() and photo_id is None:
        return Outcome()
    return await _reply(ctx, staff, ticket_id, text, photo_id)


async def _ticket_of(ctx: Context) -> int | None:
    """The ticket a staff group message belongs to: by its forum topic, else by the message it
    answers (the card or a relayed member message)."""
    inbound = ctx.inbound
    async with ctx.deps.uow_factory() as uow:
        if inbound.thread_id is not None:
            topic = await uow.outbox.topic_of_thread(inbound.chat_id, inbound.thread_id)
            if topic is not None:
                return ticket_of_topic(topic)
        if inbound.reply_to_message_id is not None:
            return ticket_of_topic(
                await uow.outbox.topic_of_message(inbound.chat_id, inbound.reply_to_message_id)
            )
    return None
