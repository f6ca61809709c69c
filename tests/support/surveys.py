"""Seeding for the survey tests: a policy that asks after every purchase, receipts, answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.bootstrap import App
from domain.loyalty.model import Receipt
from domain.members.model import Store
from domain.shared.policy import Policy
from domain.surveys.policy import SurveyPolicy
from handlers.types import InboundKind, OutgoingMessage
from storage.surveys.tables import survey_answers, survey_invitations
from tests.support.conversation import inbound


def every_purchase(policy: Policy, **changes: Any) -> Policy:
    """`policy` asking the purchase survey after every receipt (no sampling), plus `changes`."""
    return replace(
        policy, surveys=replace(SurveyPolicy(), purchase_sample_percent=100.0, **changes)
    )


def use_policy(app: App, policy: Policy) -> None:
    """Make the running app (its conversation too) use `policy`."""
    app.policy = policy
    app.conversation.deps.policy = policy


async def add_receipt(
    app: App, receipt_no: str, member_id: int, store: Store, at: datetime,
    amount: str = "88.00",
) -> Receipt:
    assert store.id is not None
    receipt = Receipt(receipt_no, store.id, member_id, at, Decimal(amount), "CNY")
    async with app.uow_factory() as uow:
        await uow.receipts.add_many([receipt])
        await uow.commit()
    return receipt


async def invitations(app: App) -> list[Any]:
    async with app.engine.connect() as conn:
        return list(
            await conn.execute(select(survey_invitations).order_by(survey_invitations.c.id))
        )


async def answers(app: App) -> list[Any]:
    async with app.engine.connect() as conn:
        return list(await conn.execute(select(survey_answers).order_by(survey_answers.c.id)))



async def press(app: App, data: str, *, user: int) -> list[OutgoingMessage]:
    return await app.conversation.handle(inbound(InboundKind.BUTTON, data, user=user))


async def write(app: App, text: str, *, user: int) -> list[OutgoingMessage]:
    if text.startswith("/"):
        name, _, args = text[1:].partition(" ")
        return await app.conversation.handle(
            inbound(InboundKind.COMMAND, args, user=user, command=name)
        )
    return await app.conversation.handle(inbound(InboundKind.TEXT, text, user=user))


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
