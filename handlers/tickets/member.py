"""The member's side of complaint tickets: opening one, adding to it, /tickets, reopen.

How a member's messages find their ticket: while a member has an active ticket (open, or
waiting on staff or on them) and is in no other flow, whatever they write that is not a command
and that the bot does not otherwise understand — free text no intent or FAQ answers, and any
photo — is added to that ticket (the most recently changed one, if several) and relayed to the
staff. Text that means a complaint ("投诉", "the milk was sour") joins the open ticket too, and
starts a new complaint when there is none; /complaint always starts a new one. Without an
active ticket, free text with complaint-like words gets the offer to open one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process, utils

from domain.shared.text import parse_id
from domain.tickets.model import TEXT_MAX, Ticket, TicketStatus
from domain.tickets.rules import local_time
from domain.tickets.services import (
    add_member_message,
    latest_active_ticket,
    open_ticket,
    reopen_ticket,
)
from handlers.intents import normalise
from handlers.routing import Context, Router, buttons, say
from handlers.types import Button, InboundKind, Outcome, Reply

if TYPE_CHECKING:
    from domain.members.model import Store
    from domain.tickets.policy import TicketCategory

log = logging.getLogger(__name__)
router = Router()

CATEGORY = "complaint_category"
STORE = "complaint_store"
DESCRIBE = "complaint_describe"
OFFER_DATA = "offer"  # what the member wrote when the bot offered to open a complaint

STORES_SHOWN = 8
STORE_MATCH_MIN_SCORE = 75.0
MAX_PHOTOS = 5
DESCRIPTION_HINT = 12  # typed text this long, when a category was asked, is the description
TICKETS_SHOWN = 10

COMPLAINT_PHRASES = (
    "complaint", "complain", "i want to complain", "make a complaint", "file a complaint",
    "i have a complaint", "the milk was sour", "the food was rotten", "the product is broken",
    "bad service", "the bread is mouldy", "it was expired", "the cashier was rude",
    "staff were unfriendly", "the store is dirty", "you charged me twice", "i was overcharged",
    "it smelled bad", "the eggs were broken", "it went off", "bad quality", "spoiled",
    "投诉", "我要投诉", "我想投诉", "投诉门店", "牛奶是酸的", "东西坏了", "服务太差", "坏的",
    "烂了", "发霉", "过期", "变质", "不新鲜", "态度很差", "态度差", "态度不好", "很凶", "多收钱",
    "扣了两次钱", "收错钱", "质量问题", "臭了", "脏", "服务差",
    "it smelled off", "gone off", "smelly", "a bug in it", "insects", "a hair in it",
    "damaged packaging", "it was leaking", "mushy", "food poisoning", "staff ignored me",
    "wrong price", "the price was different at the till", "waited too long",
    "有异味", "找错钱", "胀袋", "态度恶劣", "排队太久", "没人管", "有虫子", "漏了", "价格不一样",
    "标价不对", "烂", "坏", "臭", "霉", "结账价格不一样",
)
TICKETS_PHRASES = (
    "my complaints", "my tickets", "status of my complaint", "complaint status",
    "any update on my complaint", "what happened to my ticket", "my ticket",
    "我的投诉", "我的工单", "投诉进度", "投诉处理得怎么样了", "投诉结果怎么样", "工单状态",
    "投诉有回复吗",
)
# Phrases that only ask to complain, with nothing to add to a ticket.
_TRIGGERS = {
    normalise(p)
    for p in (
        "complaint", "complain", "i want to complain", "make a complaint", "file a complaint",
        "i have a complaint", "投诉", "我要投诉", "我想投诉", "投诉门店",
    )
}
# Words that make unmatched free text look like a complaint, so the bot offers to open one.
COMPLAINT_WORDS = (
    "sour", "rotten", "mouldy", "moldy", "expired", "broken", "damaged", "rude", "dirty",
    "overcharged", "wrong price", "refund", "complain", "terrible", "disgusting", "stale",
    "坏了", "变质", "过期", "发霉", "酸了", "态度差", "态度不好", "多收", "退款", "投诉", "太差",
    "质量问题", "不新鲜",
)


def looks_like_complaint(text: str) -> bool:
    folded = normalise(text)
    return any(word in folded for word in COMPLAINT_WORDS)


def _arg(ctx: Context, index: int) -> str:
    parts = ctx.inbound.payload.split(":")
    return parts[index] if len(parts) > index else ""


def _int_arg(ctx: Context, index: int) -> int | None:
    raw = _arg(ctx, index)
    return parse_id(raw)


# -- opening a ticket -----------------------------------------------------------------------


@router.command("complaint", description_key="command.complaint", member_only=True)
async def complaint(ctx: Context) -> Outcome:
    """/complaint: a new ticket, whatever is open already."""
    return _ask_category(ctx, draft="")


@router.intent("complaint", COMPLAINT_PHRASES, member_only=True)
async def complaint_text(ctx: Context) -> Outcome:
    """Free text that means a complaint: added to the open ticket, or a new one started."""
    assert ctx.member is not None and ctx.member.id is not None
    text = ctx.inbound.payload.strip()
    bare = not text or normalise(text) in _TRIGGERS
    async with ctx.deps.uow_factory() as uow:
        active = await latest_active_ticket(uow, ctx.member.id)
    if active is None:
        return _ask_category(ctx, draft="" if bare else text)
    if bare:
        return say("complaint.has_open", number=active.number)
    return await _add_to_ticket(ctx, active, text=text)


def _ask_category(ctx: Context, draft: str) -> Outcome:
    categories = ctx.deps.policy.tickets.categories
    rows = [
        [_category_button(ctx, c) for c in categories[i : i + 2]]
        for i in range(0, len(categories), 2)
    ]
    rows.append([Button("complaint.cancel_button", "ct:cancel")])
    return Outcome(
        (Reply("complaint.ask_category", buttons=buttons(*rows)),),
        next_state=CATEGORY,
        state_data={"draft": draft[:TEXT_MAX]},
    )


def _category_button(ctx: Context, category: TicketCategory) -> Button:
    return Button("complaint.category_button", f"ct:cat:{category.key}",
                  literal=category.name(ctx.lang))


async def _stores(ctx: Context) -> list[Store]:
    """The member's own store first, then the one whose QR code they scanned, then the rest."""
    async with ctx.deps.uow_factory() as uow:
        stores = await uow.stores.list()
    home = ctx.member.home_store_id if ctx.member else None
    scanned = ctx.chat_user.source_store_code

    def rank(store: Store) -> tuple[int, str]:
        return (0 if store.id == home else 1 if store.code == scanned else 2, store.code)

    return sorted(stores, key=rank)


async def _ask_store(ctx: Context, data: dict[str, Any], *, edit: bool) -> Outcome:
    stores = await _stores(ctx)
    rows = [
        [Button("complaint.store_button", f"ct:st:{store.id}", literal=store.name)]
        for store in stores[:STORES_SHOWN]
    ]
    rows.append([Button("complaint.no_store_button", "ct:st:0")])
    rows.append([Button("complaint.cancel_button", "ct:cancel")])
    key = "complaint.ask_store_more" if len(stores) > STORES_SHOWN else "complaint.ask_store"
    return Outcome(
        (Reply(key, buttons=buttons(*rows), edit=edit),), next_state=STORE, state_data=data
    )


@router.state(CATEGORY)
async def category_text(ctx: Context) -> Outcome:
    """Typed instead of pressed: a category name close enough is taken, else ask again."""
    if ctx.inbound.kind is InboundKind.TEXT:
        text = ctx.inbound.payload.strip()
        found = _match_category(ctx, text)
        if found is not None:
            return await _ask_store(ctx, {**ctx.data, "category": found.key}, edit=False)
        if len(text) >= DESCRIPTION_HINT and not ctx.data.get("draft"):
            # They went straight to telling what happened: keep it as the description.
            return say("complaint.noted_choose_category", data={**ctx.data, "draft": text},
                       state=CATEGORY)
    return say("complaint.use_buttons")


def _match_category(ctx: Context, text: str) -> TicketCategory | None:
    choices = {
        (c.key, lang): c.name(lang)
        for c in ctx.deps.policy.tickets.categories
        for lang in ("en", "zh")
    }
    best = process.extractOne(text, choices, scorer=fuzz.WRatio,
                              processor=utils.default_process, score_cutoff=85)
    return ctx.deps.policy.tickets.category(best[2][0]) if best else None


@router.state(STORE)
async def store_text(ctx: Context) -> Outcome:
    """A store named in words: the closest name or code, forgiving typos."""
    if ctx.inbound.kind is not InboundKind.TEXT:
        return say("complaint.use_buttons")
    stores = await _stores(ctx)
    choices = {s.id: f"{s.code} {s.name}" for s in stores if s.id is not None}
    best = process.extractOne(ctx.inbound.payload, choices, scorer=fuzz.WRatio,
                              processor=utils.default_process,
                              score_cutoff=STORE_MATCH_MIN_SCORE)
    if best is None:
        return say("complaint.store_unknown")
    return await _after_store(ctx, int(best[2]))


async def _after_store(ctx: Context, store_id: int | None) -> Outcome:
    data = {**ctx.data, "store": store_id}
    if data.get("draft"):
        return await _open(ctx, data, description=str(data["draft"]))
    return Outcome(
        (Reply("complaint.ask_description"),), next_state=DESCRIBE, state_data=data
    )


@router.state(DESCRIBE)
async def describe(ctx: Context) -> Outcome:
    """What happened, in words; photos are welcome (a caption counts as the description)."""
    inbound = ctx.inbound
    photos = [str(p) for p in ctx.data.get("photos", [])]
    if inbound.kind is InboundKind.PHOTO:
        photos = (photos + [inbound.payload])[:MAX_PHOTOS]
        if inbound.text.strip():
            return await _open(ctx, {**ctx.data, "photos": photos}, description=inbound.text)
        return Outcome(
            (Reply("complaint.photo_received"),), next_state=DESCRIBE,
            state_data={**ctx.data, "photos": photos},
        )
    if inbound.kind is not InboundKind.TEXT or not inbound.payload.strip():
        return say("complaint.ask_description")
    if len(inbound.payload) > ctx.deps.policy.max_text_length * 4:
        return say("text.too_long", max=ctx.deps.policy.max_text_length * 4)
    return await _open(ctx, ctx.data, description=inbound.payload)


async def _open(ctx: Context, data: dict[str, Any], *, description: str) -> Outcome:
    assert ctx.member is not None
    category = str(data.get("category", ""))
    store = data.get("store")
    async with ctx.deps.uow_factory() as uow:
        ticket = await open_ticket(
            uow,
            ctx.deps.policy,
            ctx.deps.desk,
            ctx.member,
            category=category,
            description=description,
            now=ctx.now,
            store_id=int(store) if store else None,
            photo_file_ids=[str(p) for p in data.get("photos", [])],
        )
        await uow.commit()
    rules = ctx.deps.policy.tickets
    hours = rules.hours(ticket.category, ticket.priority).first_response
    return Outcome(
        (Reply("complaint.opened", {"number": ticket.number, "within": within(ctx, hours)}),),
        next_state="",
        state_data={},
    )


def within(ctx: Context, hours: float) -> str:
    """'within 4 hours', '30 分钟内': the promised response time in the member's words."""
    if hours < 1:
        return ctx.t("complaint.within_minutes", minutes=max(1, round(hours * 60)))
    if hours == 1:
        return ctx.t("complaint.within_an_hour")
    if hours >= 48 and hours % 24 == 0:
        return ctx.t("complaint.within_days", days=int(hours // 24))
    shown = int(hours) if float(hours).is_integer() else round(hours, 1)
    return ctx.t("complaint.within_hours", hours=shown)


@router.button("ct", member_only=True)
async def complaint_button(ctx: Context) -> Outcome:
    """Buttons of the member's tickets: category, store, offer, view, reopen, cancel."""
    action = _arg(ctx, 1)
    state = ctx.chat_user.state
    if action == "cat" and state == CATEGORY:
        category = ctx.deps.policy.tickets.category(_arg(ctx, 2))
        if category is None:
            return say("button.expired")
        return await _ask_store(ctx, {**ctx.data, "category": category.key}, edit=True)
    if action == "st" and state == STORE:
        # 0 is the "no particular store" button; parse_id takes only real (positive) ids.
        raw = 0 if _arg(ctx, 2) == "0" else _int_arg(ctx, 2)
        if raw is None:
            return say("button.expired")
        if raw and raw not in {s.id for s in await _stores(ctx)}:
            return say("button.expired")
        return await _after_store(ctx, raw or None)
    if action == "new":  # the offer: what they wrote becomes the description
        return _ask_category(ctx, draft=str(ctx.data.get(OFFER_DATA, "")))
    if action == "no":
        return Outcome((Reply("complaint.offer_declined", edit=True),), next_state="",
                       state_data={})
    if action == "cancel":
        return Outcome((Reply("complaint.cancelled", edit=True),), next_state="", state_data={})
    ticket_id = _int_arg(ctx, 2)
    if action == "view" and ticket_id is not None:
        return await _show(ctx, ticket_id)
    if action == "reopen" and ticket_id is not None:
        return await _reopen(ctx, ticket_id)
    return say("button.expired")


# -- while a ticket is open -----------------------------------------------------------------


@router.state("fallback")
async def fallback(ctx: Context) -> Outcome:
    """Free text nothing else understood: into the member's open ticket, or an offer to open one
    when it sounds like a complaint."""
    text = ctx.inbound.payload
    if ctx.member is None or ctx.member.id is None:
        return say("text.not_understood")
    async with ctx.deps.uow_factory() as uow:
        active = await latest_active_ticket(uow, ctx.member.id)
    if active is not None:
        return await _add_to_ticket(ctx, active, text=text)
    if looks_like_complaint(text):
        return Outcome(
            (
                Reply(
                    "complaint.offer",
                    buttons=buttons(
                        [
                            Button("complaint.offer_yes_button", "ct:new"),
                            Button("complaint.offer_no_button", "ct:no"),
                        ]
                    ),
                ),
            ),
            # No state of its own: the member may just as well ignore the offer and go on.
            next_state="",
            state_data={OFFER_DATA: text[:TEXT_MAX]},
        )
    return say("text.not_understood")


@router.state("photo")
async def photo(ctx: Context) -> Outcome:
    """A photo outside any flow: it belongs to the member's open ticket if there is one."""
    if ctx.member is None or ctx.member.id is None:
        return say("other.unsupported")
    async with ctx.deps.uow_factory() as uow:
        active = await latest_active_ticket(uow, ctx.member.id)
    if active is None:
        return say("complaint.photo_without_ticket")
    return await _add_to_ticket(ctx, active, text=ctx.inbound.text,
                                photo_file_id=ctx.inbound.payload)


async def _add_to_ticket(
    ctx: Context, ticket: Ticket, *, text: str, photo_file_id: str | None = None
) -> Outcome:
    assert ctx.member is not None and ticket.id is not None
    async with ctx.deps.uow_factory() as uow:
        await add_member_message(
            uow, ctx.deps.policy, ctx.deps.desk, ticket.id, ctx.member, text=text, now=ctx.now,
            photo_file_id=photo_file_id,
        )
        await uow.commit()
    return Outcome((Reply("complaint.added", {"number": ticket.number}),), next_state="",
                   state_data={})


# -- /tickets, reopening, rating ------------------------------------------------------------


@router.command("tickets", description_key="command.tickets", member_only=True)
@router.intent("tickets", TICKETS_PHRASES, member_only=True)
async def my_tickets(ctx: Context) -> Outcome:
    """The member's tickets, newest first, with their status; buttons to view or reopen."""
    assert ctx.member is not None and ctx.member.id is not None
    async with ctx.deps.uow_factory() as uow:
        found = await uow.tickets.for_member(ctx.member.id, TICKETS_SHOWN)
    if not found:
        return say("tickets.none")
    lines = [_line(ctx, t) for t in found]
    rows: list[list[Button]] = []
    for ticket in found[:5]:
        row = [Button("tickets.view_button", f"ct:view:{ticket.id}", {"number": ticket.number})]
        if ticket.can_reopen(ctx.now, ctx.deps.policy.tickets):
            row.append(Button("tickets.reopen_button", f"ct:reopen:{ticket.id}",
                              {"number": ticket.number}))
        rows.append(row)
    return Outcome(
        (Reply("tickets.list", {"tickets": "\n".join(lines)}, buttons=buttons(*rows)),)
    )


def category_name(ctx: Context, ticket: Ticket) -> str:
    found = ctx.deps.policy.tickets.category(ticket.category)
    return found.name(ctx.lang) if found else ticket.category


def status_name(ctx: Context, status: TicketStatus) -> str:
    return ctx.t(f"ticket.status.{status.value}")


def _line(ctx: Context, ticket: Ticket) -> str:
    return ctx.t(
        "tickets.line",
        number=ticket.number,
        category=category_name(ctx, ticket),
        status=status_name(ctx, ticket.status),
        opened=local_time(ticket.created_at, ctx.deps.policy.timezone)[:10],
    )


async def _show(ctx: Context, ticket_id: int) -> Outcome:
    """One ticket's thread as the member sees it: staff notes are never part of it."""
    assert ctx.member is not None
    async with ctx.deps.uow_factory() as uow:
        ticket = await uow.tickets.get(ticket_id)
        messages = await uow.tickets.messages(ticket_id, 30) if ticket else []
    if ticket is None or ticket.member_id != ctx.member.id:
        log.warning("member %s asked for ticket %s, which is not theirs",
                    ctx.member.member_no, ticket_id)
        return say("ticket.not_found", number=Ticket.number_of(ticket_id))
    tz = ctx.deps.policy.timezone
    thread = [
        ctx.t(
            "tickets.thread_line",
            when=local_time(m.at, tz)[5:],
            who=ctx.t(f"tickets.author.{m.author.value}"),
            text=m.text or "📷",
        )
        for m in messages
        if not m.internal and (m.text or m.photo_file_id)
    ]
    rows: list[list[Button]] = []
    if ticket.can_reopen(ctx.now, ctx.deps.policy.tickets):
        rows.append([Button("tickets.reopen_button", f"ct:reopen:{ticket.id}",
                            {"number": ticket.number})])
    return Outcome(
        (
            Reply(
                "tickets.detail",
                {
                    "number": ticket.number,
                    "category": category_name(ctx, ticket),
                    "status": status_name(ctx, ticket.status),
                    "thread": "\n".join(thread),
                },
                buttons=buttons(*rows),
            ),
        )
    )


async def _reopen(ctx: Context, ticket_id: int) -> Outcome:
    assert ctx.member is not None
    async with ctx.deps.uow_factory() as uow:
        ticket = await reopen_ticket(uow, ctx.deps.policy, ctx.deps.desk, ticket_id, ctx.member,
                                     ctx.now)
        await uow.commit()
    return Outcome((Reply("ticket.reopened", {"number": ticket.number}),))
