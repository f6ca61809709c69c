"""Use cases of membership: link a chat account by phone, enrol, edit the profile."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from domain.members.events import MarketingConsentChanged
from domain.members.model import LANGUAGES, ChatUser, Member
from domain.members.rules import read_date
from domain.shared.errors import BirthdayLocked, InvalidInput, PhoneTaken

if TYPE_CHECKING:
    from domain.shared.ports import UnitOfWork

MAX_NAME_LENGTH = 60


async def link_by_phone(uow: UnitOfWork, chat_user: ChatUser, phone: str) -> Member | None:
    """Link the chat account to the member with this E.164 phone; None when there is none."""
    member = await uow.members.get_by_phone(phone)
    if member is None:
        return None
    chat_user.member_id = member.id
    if member.language is None:
        member.language = chat_user.effective_language()
        await uow.members.update(member)
    await uow.chat_users.save(chat_user)
    return member


def clean_name(raw: str) -> str:
    """A member's name as typed, trimmed; refuse empty, over-long or control characters."""
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME_LENGTH or any(not ch.isprintable() for ch in name):
        raise InvalidInput(
            f"{raw!r} is not a usable name", key="join.bad_name", max=MAX_NAME_LENGTH
        )
    return name


def parse_birthday(raw: str, today: date) -> date:
    """A birthday as 1999-02-03, 1999/2/3, 1999年2月3日... (see rules.read_date); in the past
    and under 120 years ago."""
    day = read_date(raw)
    if day is None:
        raise InvalidInput("the text is not a date", key="join.bad_birthday")
    if day >= today or day.year < today.year - 120:
        raise InvalidInput("the date is not a plausible birthday", key="join.bad_birthday")
    return day


async def enrol_member(
    uow: UnitOfWork,
    chat_user: ChatUser,
    *,
    name: str,
    phone: str,
    birthday: date | None,
    marketing_consent: bool,
    now: datetime,
) -> Member:
    """Create a member from the chat, linked to this chat account; the phone must be free."""
    if await uow.members.get_by_phone(phone) is not None:
        raise PhoneTaken(f"{phone} already belongs to a member")
    store_id = None
    if chat_user.source_store_code:
        store = await uow.stores.get_by_code(chat_user.source_store_code)
        store_id = store.id if store else None
    member = await uow.members.add(
        Member(
            member_no=await uow.members.next_member_no(),
            name=clean_name(name),
            phone=phone,
            joined_at=now,
            birthday=birthday,
            home_store_id=store_id,
            acquired_store_id=store_id,
            language=chat_user.effective_language(),
            marketing_consent=marketing_consent,
        )
    )
    chat_user.member_id = member.id
    await uow.chat_users.save(chat_user)
    if member.id is not None:  # the consent log starts with the answer given when joining
        await uow.record(MarketingConsentChanged(now, member.id, marketing_consent, "join"))
    return member


async def set_language(uow: UnitOfWork, chat_user: ChatUser, language: str) -> None:
    """Remember the chosen language for this chat account and, if linked, the member."""
    if language not in LANGUAGES:
        raise InvalidInput(f"unknown language {language!r}")
    chat_user.language = language
    await uow.chat_users.save(chat_user)
    if chat_user.member_id is not None:
        member = await uow.members.get(chat_user.member_id)
        if member is not None:
            member.language = language
            await uow.members.update(member)


async def set_marketing_consent(
    uow: UnitOfWork, member_id: int, consent: bool, now: datetime, *, source: str = "chat"
) -> Member:
    """Give or withdraw marketing consent; withdrawal takes effect at once and is timestamped.
    `source` says how ("chat", "stop"), for the consent log."""
    member = await _member(uow, member_id)
    if consent:
        member.give_consent()
    else:
        member.withdraw_consent(now)
    await uow.members.update(member)
    await uow.record(MarketingConsentChanged(now, member_id, consent, source))
    return member


async def rename_member(uow: UnitOfWork, member_id: int, name: str) -> Member:
    member = await _member(uow, member_id)
    member.name = clean_name(name)
    await uow.members.update(member)
    return member


async def set_birthday(
    uow: UnitOfWork, member_id: int, birthday: date, *, by_staff: bool = False
) -> Member:
    """A member may set a missing birthday once; changing it is for staff (it earns a coupon)."""
    member = await _member(uow, member_id)
    if member.birthday is not None and not by_staff:
        raise BirthdayLocked("a birthday once set is changed by staff only")
    member.birthday = birthday
    await uow.members.update(member)
    return member


async def _member(uow: UnitOfWork, member_id: int) -> Member:
    member = await uow.members.get(member_id)
    if member is None:
        raise LookupError(f"member {member_id} does not exist")
    return member
