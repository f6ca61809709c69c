"""The composition root: settings are read once here and every part is built and wired."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from domain.clock import Clock, SystemClock
from domain.policy import Policy
from handlers.conversation import Conversation
from handlers.i18n import Translator
from handlers.member import router as member_router
from handlers.routing import Deps, Router
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

log = logging.getLogger(__name__)


def feature_routers() -> list[Router]:
    """Every feature's conversation steps, in the order they are tried."""
    return [member_router]


@dataclass
class App:
    """Everything a running retailbot needs, built once."""

    settings: Settings
    policy: Policy
    engine: AsyncEngine
    uow_factory: SqlUnitOfWorkFactory
    clock: Clock
    translator: Translator
    conversation: Conversation
    extras: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        await self.engine.dispose()


async def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    policy: Policy | None = None,
    migrate: bool = True,
) -> App:
    """Build the app on `settings`; migrations run first so a new database just works."""
    policy = policy if policy is not None else settings.load_policy()
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade(engine)
    uow_factory = SqlUnitOfWorkFactory(engine)
    clock = clock or SystemClock()
    translator = Translator()
    deps = Deps(
        uow_factory=uow_factory,
        policy=policy,
        clock=clock,
        translator=translator,
        extras={"staff_chat_id": settings.staff_chat_id, "admin_ids": settings.admin_ids},
    )
    conversation = Conversation(deps, feature_routers())
    return App(settings, policy, engine, uow_factory, clock, translator, conversation)
