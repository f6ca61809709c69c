"""Seeding for the coupon and delivery tests: stores in two zones, members, chats, points."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.bootstrap import App
from domain.loyalty.model import EntryKind, LedgerEntry
from domain.members.model import ChatUser, Member, Store
from domain.messaging.ports import Buttons
from storage.coupons.tables import coupons
from storage.messaging.tables import outbox


@dataclass
class Shop:
    shanghai: Store
    new_york: Store


async def seed_stores(app: App) -> Shop:
    async with app.uow_factory() as uow:
        sh = await uow.stores.add(Store("SH01", "Shanghai People's Square", "Asia/Shanghai"))
        ny = await uow.stores.add(Store("NY01", "New York Canal Street", "America/New_York"))
        await uow.commit()
    return Shop(sh, ny)


async def add_member(
    app: App,
    member_no: str,
    *,
    store: Store | None = None,
    birthday: date | None = None,
    points: int = 0,
    points_age_days: int = 30,
    chat: int | None = None,
    language: str = "en",
    consent: bool = False,
    opted_out: bool = False,
    reachable: bool = True,
) -> Member:
    """A member; with `chat`, linked to that Telegram chat; with `points`, one earn entry."""
    now = app.clock.now()
    async with app.uow_factory() as uow:
        member = await uow.members.add(
            Member(
                member_no,
                f"Member {member_no}",
                f"+86138{int(member_no):08d}",
                now - timedelta(days=400),
                birthday=birthday,
                home_store_id=store.id if store else None,
                language=language,
                marketing_consent=consent,
                opted_out_at=now - timedelta(days=1) if opted_out else None,
            )
        )
        assert member.id is not None
        if points:
            await uow.ledger.append(
                [earned(member.id, points, f"seed:{member_no}", now, age_days=points_age_days)]
            )
        if chat is not None:
            await uow.chat_users.save(
                ChatUser(
                    channel="telegram",
                    user_id=str(chat),
                    chat_id=str(chat),
                    language=language,
                    member_id=member.id,
                    reachable=reachable,
                )
            )
        await uow.commit()
    return member


def earned(
    member_id: int,
    points: int,
    key: str,
    now: datetime,
    *,
    age_days: int,
    expires_in_days: int = 300,
) -> LedgerEntry:
    """Points earned `age_days` ago that expire `expires_in_days` from `now` (negative: gone)."""
    return LedgerEntry(
        member_id,
        EntryKind.EARN,
        points,
        key,
        now - timedelta(days=age_days),
        expires_at=now + timedelta(days=expires_in_days),
    )


async def give_points(
    app: App,
    member_id: int,
    points: int,
    key: str,
    *,
    age_days: int,
    expires_in_days: int = 300,
) -> None:
    """One more earn entry for a member, committed (see `earned`)."""
    entry = earned(
        member_id, points, key, app.clock.now(), age_days=age_days, expires_in_days=expires_in_days
    )
    async with app.uow_factory() as uow:
        await uow.ledger.append([entry])
        await uow.commit()


async def count_coupons(app: App, **where: Any) -> int:
    statement = select(func.count()).select_from(coupons)
    for name, value in where.items():
        statement = statement.where(coupons.c[name] == value)
    async with app.engine.connect() as conn:
        return int(await conn.scalar(statement) or 0)


async def outbox_rows(app: App) -> list[Any]:
    async with app.engine.connect() as conn:
        return list(await conn.execute(select(outbox).order_by(outbox.c.id)))


@dataclass
class Sent:
    chat_id: str
    text: str
    photo: bytes | None
    buttons: Buttons


@dataclass
class FakeMessenger:
    """The Messenger port in memory: records sends, raises what a test programs per chat."""

    sent: list[Sent] = field(default_factory=list)
    errors: dict[str, list[Exception]] = field(default_factory=dict)  # chat -> next errors
    always: dict[str, Exception] = field(default_factory=dict)  # chat -> error every time
    calls: int = 0

    async def send_text(
        self, chat_id: str, text: str, photo: bytes | None = None, buttons: Buttons = ()
    ) -> None:
        self.calls += 1
        if chat_id in self.always:
            raise self.always[chat_id]
        queued = self.errors.get(chat_id)
        if queued:
            raise queued.pop(0)
        self.sent.append(Sent(chat_id, text, photo, buttons))

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, buttons: Buttons = ()
    ) -> None:
        self.sent.append(Sent(chat_id, text, None, buttons))

    def to(self, chat_id: str | int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]


def moment(text: str) -> datetime:
    """'2026-06-15 09:30 +08:00' as an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M %z")
