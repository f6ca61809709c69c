"""The member conversation on a real SQLite file, through the framework-neutral layer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.bootstrap import App, build_app
from bot.config import Settings
from domain.loyalty.model import Receipt
from domain.loyalty.services import book_receipts
from domain.members.model import Member, Store
from domain.shared.clock import FixedClock
from handlers.types import Inbound, InboundKind, Keyboard, OutgoingMessage
from tests.support.conversation import MEMBER, inbound

PHONE = "+8613800138000"
USER = MEMBER  # the default user of `inbound`


def cmd(name: str, args: str = "", **kw: object) -> Inbound:
    return inbound(InboundKind.COMMAND, args, command=name, **kw)  # type: ignore[arg-type]


def text(value: str, **kw: object) -> Inbound:
    return inbound(InboundKind.TEXT, value, **kw)  # type: ignore[arg-type]


def press(data: str, **kw: object) -> Inbound:
    return inbound(InboundKind.BUTTON, data, **kw)  # type: ignore[arg-type]


def contact(phone: str, *, user: int = USER, owner: str | None = str(USER)) -> Inbound:
    return inbound(InboundKind.CONTACT, phone, user=user, contact_of=owner)


def keys(replies: list[OutgoingMessage]) -> list[str]:
    return [r.key for r in replies]


async def seed(app: App, *, spend: list[tuple[int, str]] | None = None) -> Member:
    """One store and one member with receipts `spend` = [(days ago, amount)]."""
    now = app.clock.now()
    async with app.uow_factory() as uow:
        store = await uow.stores.add(Store("SH01", "Shanghai People's Square", "Asia/Shanghai"))
        member = await uow.members.add(
            Member(
                "100001",
                "Li Lei",
                PHONE,
                now - timedelta(days=400),
                birthday=date(1990, 5, 31),
                home_store_id=store.id,
                marketing_consent=True,
            )
        )
        assert store.id is not None and member.id is not None
        receipts = [
            Receipt(
                f"R{i}", store.id, member.id, now - timedelta(days=days), Decimal(amount), "CNY"
            )
            for i, (days, amount) in enumerate(spend or [])
        ]
        await book_receipts(uow, app.policy, receipts, now)
        await uow.commit()
    return member


async def test_a_member_links_by_sharing_their_own_phone_and_sees_points(app: App) -> None:
    await seed(app, spend=[(10, "120.50"), (340, "2000")])
    conv = app.conversation

    first = await conv.handle(cmd("start"))
    assert keys(first) == ["start.welcome", "link.ask_contact"]
    assert first[1].keyboard is Keyboard.REQUEST_CONTACT and first[1].contact_button_text

    linked = await conv.handle(contact("8613800138000"))  # Telegram sends no plus sign
    assert keys(linked)[0] == "link.linked"
    assert "Li Lei" in linked[0].text and linked[0].keyboard is Keyboard.REMOVE

    points = await conv.handle(cmd("points"))
    assert points[0].key == "points.summary"
    body = points[0].text
    assert "Points: 2120" in body  # 120 + 2000 at tier "member" x1, floor
    assert "Silver" in body  # 12-month spend 2120.50 reached silver; next is gold
    assert "2120" in body and "expire" in body


async def test_a_forwarded_contact_of_someone_else_is_refused_and_links_nothing(app: App) -> None:
    await seed(app)
    conv = app.conversation
    await conv.handle(cmd("start"))
    refused = await conv.handle(contact(PHONE, owner="999"))
    assert keys(refused) == ["link.not_own_contact"]
    assert keys(await conv.handle(contact(PHONE, owner=None))) == ["link.not_own_contact"]
    assert keys(await conv.handle(cmd("points"))) == ["link.required"]


async def test_a_typed_phone_number_does_not_link(app: App) -> None:
    await seed(app)
    conv = app.conversation
    await conv.handle(cmd("start"))
    assert keys(await conv.handle(text(PHONE))) == ["link.use_button"]
    assert keys(await conv.handle(cmd("points"))) == ["link.required"]


async def test_free_text_finds_points_even_misspelled_and_in_chinese(app: App) -> None:
    await seed(app, spend=[(1, "50")])
    conv = app.conversation
    await conv.handle(contact(PHONE))
    for phrase in ("积分", "my points", "pionts", "查一下积分"):
        assert keys(await conv.handle(text(phrase))) == ["points.summary"], phrase


async def test_free_text_gets_the_closest_faq_answer_or_a_polite_fallback(app: App) -> None:
    conv = app.conversation
    hours = await conv.handle(text("what time do you close?"))
    assert hours[0].key == "faq.answer" and "8:00" in hours[0].text
    zh = await conv.handle(text("几点开门", lang="zh"))
    assert "营业" in zh[0].text
    # Nothing understood: the member gets buttons to tap (guesses, else the menu), no dead end.
    lost = await conv.handle(text("qwertyuiop zxcv"))
    assert keys(lost) == ["guess.none"] and lost[0].buttons
    assert keys(await conv.handle(text("x" * 5000))) == ["text.too_long"]
    assert keys(await conv.handle(inbound(InboundKind.OTHER))) == ["other.unsupported"]
    assert keys(await conv.handle(cmd("frobnicate"))) == ["command.unknown"]


async def test_language_follows_telegram_and_language_command_changes_it(app: App) -> None:
    await seed(app)
    conv = app.conversation
    zh_start = await conv.handle(cmd("start", lang="zh-hans"))
    assert "欢迎" in zh_start[0].text
    menu = await conv.handle(cmd("language", lang="zh-hans"))
    assert [b.data for b in menu[0].buttons[0]] == ["lang:zh", "lang:en"]
    changed = await conv.handle(press("lang:en", lang="zh-hans"))
    assert changed[0].key == "language.changed" and "English" in changed[0].text
    assert changed[0].answer_callback == "cb"
    again = await conv.handle(cmd("help", lang="zh-hans"))
    assert "Here is what I can do" in again[0].text


async def test_stop_withdraws_marketing_consent_at_once(app: App) -> None:
    member = await seed(app)
    conv = app.conversation
    await conv.handle(contact(PHONE))
    assert keys(await conv.handle(cmd("stop"))) == ["stop.done"]
    async with app.uow_factory() as uow:
        stored = await uow.members.get(member.id or 0)
    assert stored is not None
    assert stored.marketing_consent is False and stored.opted_out_at == app.clock.now()


async def test_a_stranger_joins_with_name_birthday_and_explicit_consent(app: App) -> None:
    await seed(app)
    conv = app.conversation
    await conv.handle(cmd("start", "store_sh01", user=77))
    offer = await conv.handle(contact("+8613900139000", user=77, owner="77"))
    assert keys(offer) == ["link.no_match", "join.offer"]
    assert keys(await conv.handle(press("join:yes", user=77))) == ["join.ask_name"]
    assert keys(await conv.handle(text("   ", user=77))) == ["join.bad_name"]
    assert keys(await conv.handle(text("Han  Meimei", user=77))) == ["join.ask_birthday"]
    assert keys(await conv.handle(text("1990-02-30", user=77))) == ["join.bad_birthday"]
    assert keys(await conv.handle(text("1991-02-28", user=77))) == ["join.ask_consent"]
    welcome = await conv.handle(press("join:consent:n", user=77))
    assert welcome[0].key == "join.welcome"
    # A second tap on the same button does not create a second member.
    assert keys(await conv.handle(press("join:consent:n", user=77))) == ["join.already_member"]
    async with app.uow_factory() as uow:
        joined = await uow.members.get_by_phone("+8613900139000")
        store = await uow.stores.get_by_code("SH01")
    assert joined is not None and store is not None
    assert joined.name == "Han Meimei" and joined.birthday == date(1991, 2, 28)
    assert joined.marketing_consent is False and joined.acquired_store_id == store.id


async def test_a_birthday_once_set_is_changed_only_by_staff(app: App) -> None:
    await seed(app)  # the member has a birthday already
    conv = app.conversation
    await conv.handle(contact(PHONE))
    profile = await conv.handle(cmd("profile"))
    assert all(b.data != "prof:bday" for row in profile[0].buttons for b in row)
    assert keys(await conv.handle(press("prof:bday"))) == ["profile.birthday_locked"]


async def test_a_stale_or_forged_button_changes_nothing(app: App) -> None:
    conv = app.conversation
    assert keys(await conv.handle(press("join:consent:y"))) == ["button.expired"]
    assert keys(await conv.handle(press("nonsense:1"))) == ["button.expired"]
    assert keys(await conv.handle(press("prof:consent:y"))) == ["link.required"]
    async with app.uow_factory() as uow:
        assert await uow.members.count() == 0


async def test_conversation_state_survives_a_restart(sqlite_url: str, clock: FixedClock) -> None:
    first = await build_app(Settings(database_url=sqlite_url), clock=clock)
    await first.conversation.handle(contact("+8613900139000"))
    await first.conversation.handle(press("join:yes"))
    await first.close()
    second = await build_app(Settings(database_url=sqlite_url), clock=clock)
    try:
        assert keys(await second.conversation.handle(text("Wang Fang"))) == ["join.ask_birthday"]
    finally:
        await second.close()


@pytest.mark.parametrize("when", [datetime(2026, 6, 15, 10, tzinfo=UTC)])
async def test_points_about_to_expire_are_announced(app: App, when: datetime) -> None:
    assert isinstance(app.clock, FixedClock)
    # Earned 11 months and 20 days ago: expires within 30 days with a 12-month expiry.
    await seed(app, spend=[(355, "300")])
    await app.conversation.handle(contact(PHONE))
    body = (await app.conversation.handle(cmd("points")))[0].text
    assert "300 points expire within 30 days" in body
    app.clock.advance(timedelta(days=20))
    after = (await app.conversation.handle(cmd("points")))[0].text
    assert "Points: 0" in after and "expired" in after


async def test_personal_commands_in_a_group_reveal_nothing(app: App) -> None:
    await seed(app, spend=[(3, "88")])
    conv = app.conversation
    await conv.handle(contact(PHONE))  # linked in the private chat

    def in_group(item: Inbound) -> Inbound:
        return replace(item, chat_id="-100777", is_private=False)

    for asked in (cmd("points"), cmd("profile"), cmd("coupons"), cmd("start")):
        replies = await conv.handle(in_group(asked))
        assert keys(replies) == ["chat.private_only"], asked.command
        assert "88" not in replies[0].text and "Li Lei" not in replies[0].text
    assert await conv.handle(in_group(text("my points"))) == []  # group chatter is ignored
