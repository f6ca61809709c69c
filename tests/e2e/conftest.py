"""End-to-end fixtures: the Bot API stand-in, the real App on SQLite, a polling bot per engine.

Every test here also fails when the bot logged an ERROR it did not expect: the stand-in only
sees HTTP, and a handler that crashed after answering would otherwise pass unnoticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.bootstrap import App, build_messenger, build_sender
from bot.config import Settings
from bot.telegram import aiogram as telegram_aiogram
from bot.telegram import ptb as telegram_ptb
from domain.members.model import Member, Store
from domain.shared.clock import FixedClock
from domain.shared.policy import Policy
from tests.support.apps import running_app
from tests.support.coupons import earned
from tests.support.paths import ROOT
from tests.support.standin import TOKEN, BotApiStandIn

ENGINES = ("aiogram", "ptb")
MEMBER_PHONE = "+8613800138000"
MEMBER_NAME = "Li Lei"
MEMBER_NO = "100001"
MEMBER_POINTS = 120
STOP_TIMEOUT = 10.0  # seconds a bot gets to shut down before the test fails
# The people of the stories by their Telegram user ids, and the staff group's chat id.
MEI = 5001  # the member the shop seeds (MEMBER_PHONE) talks from this chat
SAM = 5002  # another member
WANG = 6001  # agent
ZHAO = 6002  # agent
CHEN = 6101  # manager
STAFF_GROUP = -1001234567890


@dataclass
class ErrorLog(logging.Handler):
    """ERROR records logged while a test ran; expected ones are declared with `expect`."""

    records: list[logging.LogRecord] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, level=logging.ERROR)

    def __hash__(self) -> int:  # logging keeps handlers in sets and dicts
        return id(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def expect(self, pattern: str) -> None:
        """An ERROR whose message matches `pattern` is part of what the test checks."""
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[logging.LogRecord]:
        return [
            r for r in self.records
            if not any(p.search(r.getMessage()) for p in self.expected)
        ]

    def matching(self, pattern: str) -> list[logging.LogRecord]:
        return [r for r in self.records if re.search(pattern, r.getMessage())]


@pytest.fixture(autouse=True)
def bot_errors() -> Iterator[ErrorLog]:
    """Fails the test if anything logged an ERROR (with traceback) that it did not expect."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    surprises = handler.unexpected()
    if surprises:
        lines = []
        for record in surprises:
            trace = ""
            if record.exc_info and record.exc_info[1] is not None:
                trace = f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            lines.append(f"{record.name}: {record.getMessage()}{trace}")
        pytest.fail("the bot logged errors:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as server:
        yield server


@pytest.fixture
def e2e_clock() -> FixedClock:
    return FixedClock(datetime(2026, 6, 15, 10, 0, tzinfo=UTC))


def e2e_settings(
    standin: BotApiStandIn, tmp_path: object, engine: str, **extra: object
) -> Settings:
    """Settings for a bot on `engine` talking to the stand-in, with its own SQLite file."""
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/e2e.db",
        bot_token=TOKEN,
        telegram_api_url=standin.base_url,
        bot_engine=engine,
        **extra,  # type: ignore[arg-type]
    )


def child_environment(standin: BotApiStandIn, engine: str) -> dict[str, str]:
    """The environment for `retailbot` in a child process on `engine`, talking to the stand-in:
    this process's, without any BOT_ or DATABASE_ setting of the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(PYTHONPATH=str(ROOT), BOT_TOKEN=TOKEN, TELEGRAM_API_URL=standin.base_url,
               BOT_ENGINE=engine)
    return env


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def shop(
    standin: BotApiStandIn, tmp_path: object, engine: str, e2e_clock: FixedClock
) -> AsyncIterator[App]:
    """The real App on a fresh SQLite file, with one store and one member holding points."""
    async with running_app(e2e_settings(standin, tmp_path, engine), clock=e2e_clock) as app:
        await seed_member(app)
        yield app


async def seed_member(app: App) -> Member:
    now = app.clock.now()
    async with app.uow_factory() as uow:
        store = await uow.stores.add(Store("SH01", "Shanghai People's Square", "Asia/Shanghai"))
        member = await uow.members.add(
            Member(MEMBER_NO, MEMBER_NAME, MEMBER_PHONE, now - timedelta(days=400),
                   home_store_id=store.id, marketing_consent=True)
        )
        assert member.id is not None
        await uow.ledger.append([earned(member.id, MEMBER_POINTS, "e2e:seed", now, age_days=10)])
        await uow.commit()
    return member


async def member_by_phone(app: App, phone: str = MEMBER_PHONE) -> Member:
    async with app.uow_factory() as uow:
        member = await uow.members.get_by_phone(phone)
    assert member is not None
    return member


@contextlib.asynccontextmanager
async def polling(app: App, standin: BotApiStandIn, engine: str) -> AsyncIterator[App]:
    """The real adapter of `engine` long-polling the stand-in, through its production entry."""
    stop = asyncio.Event()
    if engine == "aiogram":
        task = asyncio.create_task(telegram_aiogram.run_polling(app, stop=stop,
                                                                polling_timeout=1))
    else:
        task = asyncio.create_task(telegram_ptb.run_polling(app, stop=stop, poll_timeout=1))
    try:
        # Polling has begun (and the start-up work before it is done) once getUpdates arrives.
        await standin.wait_for_call("getUpdates", timeout=10)
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, STOP_TIMEOUT)


@contextlib.asynccontextmanager
async def polling_shop(
    standin: BotApiStandIn,
    tmp_path: object,
    engine: str,
    clock: FixedClock,
    seed: Callable[[App], Awaitable[object]] | None = None,
    *,
    policy: Policy | None = None,
    **settings: object,
) -> AsyncIterator[App]:
    """The real app on a fresh SQLite file with what `seed` puts there, long-polling the
    stand-in on `engine`; `settings` and `policy` are the story's own."""
    async with running_app(
        e2e_settings(standin, tmp_path, engine, **settings), clock=clock, policy=policy
    ) as app:
        if seed is not None:
            await seed(app)
        async with polling(app, standin, engine):
            yield app


async def link_chat(
    standin: BotApiStandIn,
    user_id: int,
    *,
    name: str = "Mei",
    phone: str = MEMBER_PHONE,
    language: str = "en",
) -> dict[str, object]:
    """A Telegram user starts the bot and shares their own contact (the number without "+",
    as Telegram sends it): their chat is linked to the member with that phone."""
    person = standin.user(user_id, name, language_code=language)
    standin.send_text(person, "/start")
    await standin.wait_for_messages(user_id, 2)
    standin.share_contact(person, phone.lstrip("+"))
    await standin.wait_for_messages(user_id, 2)
    return person


async def deliver_outbox(app: App) -> None:
    """Run the outbox sender once over everything due, through the configured engine."""
    messenger = build_messenger(app.settings)
    await messenger.start()
    try:
        await build_sender(app, messenger).drain(max_seconds=20)
    finally:
        await messenger.close()


@pytest.fixture
async def polling_bot(shop: App, standin: BotApiStandIn, engine: str) -> AsyncIterator[App]:
    """The demo shop's app polling the stand-in on `engine`."""
    async with polling(shop, standin, engine) as app:
        yield app
