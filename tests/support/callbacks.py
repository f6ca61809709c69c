"""Builders for the callbacks tests: a resolved complaint, a rule's policy, the job's run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from bot.bootstrap import App
from domain.callbacks.model import Callback, CallbackRun, LogEntry, Rule
from domain.callbacks.policy import CallbackPolicy
from domain.callbacks.services import schedule_callback
from scheduler.jobs.callbacks import run_callbacks
from storage.callbacks.repository import CALLBACK_ROWS, LOG_ROWS
from storage.callbacks.tables import callback_log, callbacks
from tests.support.conversation import press, say
from tests.support.surveys import use_policy
from tests.support.tickets import MANAGER, complain


def set_rule(app: App, rule: Rule, **changes: Any) -> None:
    """Change one rule of the running app's [callbacks] policy."""
    policy = app.policy.callbacks
    rules = tuple(replace(r, **changes) if r.rule is rule else r for r in policy.rules)
    set_callbacks(app, rules=rules)


def set_callbacks(app: App, **changes: Any) -> None:
    current: CallbackPolicy = app.policy.callbacks
    use_policy(app, replace(app.policy, callbacks=replace(current, **changes)))


async def resolved_complaint(app: App, description: str = "The milk was sour") -> int:
    """The member complains and the manager resolves it; the ticket's id."""
    ticket_id = await complain(app, description)
    (done,) = await say(app, f"/resolve {ticket_id}", user=MANAGER)
    assert done.key == "desk.done.resolve", done.key
    return ticket_id


async def all_callbacks(app: App) -> list[Callback]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(select(callbacks).order_by(callbacks.c.id))
        return [CALLBACK_ROWS.entity(r) for r in rows]


async def log_rows(app: App) -> list[LogEntry]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(select(callback_log).order_by(callback_log.c.id))
        return [LOG_ROWS.entity(r) for r in rows]


async def run_job(app: App) -> CallbackRun:
    return await run_callbacks(app.uow_factory, app.policy, app.conversation.deps.desk,
                               app.clock.now())


async def call_back_on_the_phone(app: App, ticket_id: int, note: str) -> None:
    """The manager resolves the ticket, takes its callback from /calls and records that the
    member asks not to be called again, with a note: callbacks, a log row and a flag."""
    (done,) = await say(app, f"/resolve {ticket_id}", user=MANAGER)
    assert done.key == "desk.done.resolve", done.key
    (call, *_) = [c for c in await all_callbacks(app) if c.context.endswith(f"{ticket_id:06d}")]
    (card,) = await press(app, f"cl:take:{call.id}", user=MANAGER)
    assert card.key == "callbacks.card", card.key
    (recorded,) = await press(app, f"cl:dnc:{call.id}", user=MANAGER)
    assert recorded.key == "callbacks.recorded", recorded.key
    (ask,) = await press(app, recorded.buttons[0][0].data, user=MANAGER)
    assert ask.key == "callbacks.ask_note", ask.key
    (noted,) = await say(app, note, user=MANAGER)
    assert noted.key == "callbacks.noted", noted.key


async def complaint_calls(
    app: App, member_ids: list[int], store_id: int | None, key: str = "calls"
) -> list[int]:
    """A complaint callback due now for each member (at `store_id`), committed: their ids."""
    now = app.clock.now()
    made: list[int] = []
    async with app.uow_factory() as uow:
        for member_id in member_ids:
            call = await schedule_callback(
                uow, app.policy, member_id=member_id, rule=Rule.COMPLAINT, due_at=now,
                dedupe_key=f"{key}:{member_id}", now=now, context=f"T-{member_id:06d}",
                store_id=store_id,
            )
            assert call is not None and call.id is not None
            made.append(call.id)
        await uow.commit()
    return made


async def make_gold(app: App, *member_ids: int) -> None:
    """Put these members in the gold tier (the VIP rule's)."""
    async with app.uow_factory() as uow:
        for member_id in member_ids:
            member = await uow.members.get(member_id)
            assert member is not None
            await uow.members.update(replace(member, tier="gold"))
        await uow.commit()
