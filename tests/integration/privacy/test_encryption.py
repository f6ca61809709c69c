"""Encryption at rest: with RETAILBOT_DATA_KEY the database holds no phone, name or birthday
in the clear, yet every look-up the bot makes still finds the member; keys rotate; without a
key nothing changes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.bootstrap import App, build_app
from bot.cli.imports import import_file
from bot.cli.main import main
from bot.config import Settings
from domain.members.model import Member
from domain.shared.clock import FixedClock
from handlers.types import InboundKind
from storage.protection import DataKeyError, install, new_key_text
from tests.support.apps import running_app
from tests.support.conversation import inbound, say
from tests.support.imports import THREE_MEMBERS, add_stores, members_file, transactions_file

KEY = new_key_text()
NEW_KEY = new_key_text()
PHONE, NAME, BIRTHDAY = "+8613812345678", "Zhou Xiaoyu", date(1988, 7, 14)


@pytest.fixture(autouse=True)
def no_key_afterwards() -> Iterator[None]:
    """The key is process-wide (installed by the composition root): leave none behind."""
    yield
    install(None)


@pytest.fixture
async def sealed_app(database_url: str, clock: FixedClock) -> AsyncIterator[App]:
    async with running_app(Settings(database_url=database_url, data_key=KEY), clock=clock) as app:
        yield app


async def _raw(app: App) -> str:
    """Every stored name, phone and birthday of the members table, as the database has it."""
    async with app.engine.connect() as conn:
        rows = await conn.execute(text("SELECT name, phone, birthday, phone_last4 FROM members"))
        return repr([tuple(row) for row in rows])


async def test_an_encrypted_member_is_found_by_phone_last_digits_birthday_and_name(
    sealed_app: App,
) -> None:
    app = sealed_app
    now = app.clock.now()
    async with app.uow_factory() as uow:
        member = await uow.members.add(
            Member("100001", NAME, PHONE, now - timedelta(days=30), birthday=BIRTHDAY)
        )
        await uow.commit()
    raw = await _raw(app)
    for secret in (PHONE, PHONE[3:], NAME, BIRTHDAY.isoformat()):
        assert secret not in raw
    assert "g1:" in raw and "s1:" in raw and "'5678'" in raw
    async with app.uow_factory() as uow:
        by_phone = await uow.members.get_by_phone(PHONE)
        assert by_phone is not None and by_phone.name == NAME and by_phone.birthday == BIRTHDAY
        assert (await uow.members.by_phones([PHONE]))[PHONE].id == member.id
        assert [m.id for m in await uow.members.with_phone_ending("5678", 5)] == [member.id]
        assert [m.id for m in await uow.members.born_on([714], [], True)] == [member.id]
        assert dict(await uow.members.names())[member.id] == NAME  # the staff's name search

    # A member links by sharing the phone and reads their points, as ever.
    (linked, *_rest) = await app.conversation.handle(
        replace(inbound(InboundKind.CONTACT, PHONE, user=501), contact_user_id="501")
    )
    assert linked.key == "link.linked" and NAME in linked.text
    (points, *_more) = await say(app, "/points", user=501)
    assert points.key == "points.summary"


async def test_a_value_under_a_key_not_installed_is_refused_not_misread(sealed_app: App) -> None:
    async with sealed_app.uow_factory() as uow:
        await uow.members.add(Member("1", NAME, PHONE, sealed_app.clock.now()))
        await uow.commit()
    install(NEW_KEY)  # the wrong key
    async with sealed_app.uow_factory() as uow:
        with pytest.raises(DataKeyError, match="not installed"):
            await uow.members.get_by_member_no("1")


async def test_imports_work_encrypted(sealed_app: App, tmp_path: Path) -> None:
    await add_stores(sealed_app)
    summary = await import_file(sealed_app, "members", members_file(tmp_path, *THREE_MEMBERS),
                                strict=True, progress=False)
    assert summary.inserted == 3
    again = await import_file(sealed_app, "members", members_file(tmp_path, *THREE_MEMBERS),
                              strict=True, progress=False)
    assert again.duplicates == 3  # the file's phones were matched under encryption
    booked = await import_file(sealed_app, "transactions", transactions_file(
        tmp_path, "R-1,SH01,,13800138000,2026-06-14 10:00,100.00,CNY,"
    ), strict=True, progress=False)
    assert booked.inserted == 1 and booked.points_earned > 0
    assert "Li Lei" not in await _raw(sealed_app)


def test_keys_rotate_encrypts_a_clear_database_then_moves_it_to_a_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path}/keys.db"

    async def seed_and_read(settings: Settings) -> tuple[str, str | None]:
        app = await build_app(settings)
        try:
            async with app.uow_factory() as uow:
                if await uow.members.count() == 0:
                    await uow.members.add(Member("1", NAME, PHONE, app.clock.now(),
                                                 birthday=BIRTHDAY))
                    await uow.commit()
                found = await uow.members.get_by_phone(PHONE)
            return await _raw(app), found.name if found else None
        finally:
            await app.close()

    raw, name = asyncio.run(seed_and_read(Settings(database_url=url)))
    assert PHONE in raw and name == NAME  # without a key: as today

    monkeypatch.setenv("RETAILBOT_DATA_KEY", KEY)
    assert main(["keys", "rotate", "--database", url]) == 0
    assert "1 members rewritten" in capsys.readouterr().out
    raw, name = asyncio.run(seed_and_read(Settings(database_url=url, data_key=KEY)))
    assert PHONE not in raw and NAME not in raw and name == NAME

    monkeypatch.setenv("RETAILBOT_DATA_KEY", NEW_KEY)
    monkeypatch.setenv("RETAILBOT_OLD_DATA_KEYS", KEY)
    assert main(["keys", "rotate", "--database", url]) == 0
    assert main(["keys", "rotate", "--database", url]) == 0  # nothing left to rewrite
    assert "0 members rewritten" in capsys.readouterr().out
    raw, name = asyncio.run(seed_and_read(Settings(database_url=url, data_key=NEW_KEY)))
    assert name == NAME and PHONE not in raw

    monkeypatch.delenv("RETAILBOT_OLD_DATA_KEYS")
    assert main(["keys", "rotate", "--decrypt", "--database", url]) == 0
    raw, name = asyncio.run(seed_and_read(Settings(database_url=url)))
    assert PHONE in raw and name == NAME
    monkeypatch.delenv("RETAILBOT_DATA_KEY")
    assert main(["keys", "rotate", "--database", url]) == 2
    assert "RETAILBOT_DATA_KEY is not set" in capsys.readouterr().err
