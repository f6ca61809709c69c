"""Seeding and chat helpers for the ticket tests: a member, staff of each role, the staff group."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select

from bot.bootstrap import App
from domain.members.model import Member
from domain.messaging.ports import Buttons
from domain.shared.clock import FixedClock
from domain.staff.model import Role, StaffMember
from storage.messaging.tables import outbox
from storage.tickets.tables import audit_log
from tests.support.conversation import MEMBER, press, say
from tests.support.coupons import Shop, add_member, seed_stores

OTHER_MEMBER = 502
AGENT = 6001
AGENT_2 = 6002
MANAGER = 6101
STAFF_GROUP = -1001234567890
# Every staff command, with arguments, as someone might type it: from a member's account each
# must get exactly what an unknown command of that name gets.
STAFF_COMMANDS = (
    "/queue", "/ticket 1", "/reply 1 hello", "/note 1 hm", "/assign 1 @Wang", "/resolve 1",
    "/close 1", "/take 1", "/escalate 1", "/member Li", "/desk",
)


@dataclass
class Desk:
    """A shop with a complaining member, two agents and a manager, and a staff group."""

    shop: Shop
    member: Member
    other: Member
    agent: StaffMember
    agent_2: StaffMember
    manager: StaffMember


async def seed_desk(app: App, *, staff_group: bool = True) -> Desk:
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=MEMBER, points=320)
    async with app.uow_factory() as uow:
        member.birthday = date(1990, 5, 31)
        await uow.members.update(member)
        await uow.commit()
    other = await add_member(app, "2", store=shop.shanghai, chat=OTHER_MEMBER)
    async with app.uow_factory() as uow:
        agent = await uow.staff.save(StaffMember(str(AGENT), Role.AGENT, "Wang"))
        agent_2 = await uow.staff.save(StaffMember(str(AGENT_2), Role.AGENT, "Zhao Min"))
        manager = await uow.staff.save(StaffMember(str(MANAGER), Role.MANAGER, "Chen"))
        await uow.commit()
    if staff_group:
        deps = app.conversation.deps
        deps.desk = replace(deps.desk, staff_chat_id=str(STAFF_GROUP))
    return Desk(shop, member, other, agent, agent_2, manager)



async def complain(
    app: App, description: str = "The milk was sour", *, category: str = "quality",
    user: int = MEMBER, store: str = "SH01",
) -> int:
    """The member goes through /complaint; returns the new ticket's id."""
    (ask,) = await say(app, "/complaint", user=user)
    assert ask.key == "complaint.ask_category", ask.key
    (stores,) = await press(app, f"ct:cat:{category}", user=user)
    assert stores.key.startswith("complaint.ask_store"), stores.key
    async with app.uow_factory() as uow:
        found = await uow.stores.get_by_code(store) if store else None
    (describe,) = await press(app, f"ct:st:{found.id if found else 0}", user=user)
    assert describe.key == "complaint.ask_description", describe.key
    (opened,) = await say(app, description, user=user)
    assert opened.key == "complaint.opened", opened.key
    async with app.uow_factory() as uow:
        member_chat = await uow.chat_users.get("telegram", str(user))
        assert member_chat is not None and member_chat.member_id is not None
        (latest, *_) = await uow.tickets.for_member(member_chat.member_id, 1)
    assert latest.id is not None
    return latest.id


async def outbox_to(app: App, chat: int | str) -> list[Any]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox).where(outbox.c.chat_id == str(chat)).order_by(outbox.c.id)
        )
        return list(rows)


async def audit_rows(app: App) -> list[Any]:
    async with app.engine.connect() as conn:
        return list(await conn.execute(select(audit_log).order_by(audit_log.c.id)))


def clock(app: App) -> FixedClock:
    assert isinstance(app.clock, FixedClock)
    return app.clock


@dataclass
class SentToChat:
    chat_id: str
    text: str
    photo: bytes | None
    buttons: Buttons
    thread_id: str | None
    reply_to: str | None
    photo_file_id: str | None
    message_id: str


@dataclass
class ForumMessenger:
    """The Messenger port in memory, with forum topics: records every send and topic."""

    forums: set[str] = field(default_factory=set)
    sent: list[SentToChat] = field(default_factory=list)
    topics: list[tuple[str, str, str]] = field(default_factory=list)  # chat, name, thread
    next_id: int = 100
    edits: list[tuple[str, str, str, Buttons]] = field(default_factory=list)  # chat, id, ...

    async def send_text(
        self,
        chat_id: str,
        text: str,
        photo: bytes | None = None,
        buttons: Buttons = (),
        *,
        thread_id: str | None = None,
        reply_to: str | None = None,
        photo_file_id: str | None = None,
    ) -> str:
        self.next_id += 1
        self.sent.append(SentToChat(chat_id, text, photo, buttons, thread_id, reply_to,
                                    photo_file_id, str(self.next_id)))
        return str(self.next_id)

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, buttons: Buttons = ()
    ) -> None:
        self.edits.append((chat_id, message_id, text, buttons))

    async def create_topic(self, chat_id: str, name: str) -> str | None:
        if chat_id not in self.forums:
            return None
        self.next_id += 1
        self.topics.append((chat_id, name, str(self.next_id)))
        return str(self.next_id)

    def to(self, chat_id: str | int) -> list[SentToChat]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]
