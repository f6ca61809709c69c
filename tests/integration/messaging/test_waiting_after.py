"""The outbox's high-water mark and the rows queued above it that still wait (SQLite and
PostgreSQL): what a job marking a past as sent reads."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.messaging.model import MessageKind, OutboxMessage
from domain.shared.outbox import queue_message


async def _queue(app: App, key: str, delay: timedelta = timedelta(0)) -> int:
    async with app.uow_factory() as uow:
        await queue_message(
            uow, OutboxMessage(key, "700001", MessageKind.SERVICE, text=key, language="en"),
            app.clock.now() + delay)
        await uow.commit()
        stored = await uow.outbox.get_by_dedupe_key(key)
    assert stored is not None and stored.id is not None
    return stored.id


async def test_the_rows_above_a_mark_that_wait_come_back_with_when_they_are_due(
    any_app: App,
) -> None:
    now = any_app.clock.now()
    async with any_app.uow_factory() as uow:
        assert await uow.outbox.last_id() == 0
    before = await _queue(any_app, "old")
    async with any_app.uow_factory() as uow:
        assert await uow.outbox.last_id() == before
    due = await _queue(any_app, "due")
    sent = await _queue(any_app, "sent")
    later = await _queue(any_app, "later", timedelta(days=1))
    async with any_app.uow_factory() as uow:
        assert await uow.outbox.claim([sent], now) == {sent}
        await uow.outbox.record_sent([(sent, now, None)])
        await uow.commit()
    async with any_app.uow_factory() as uow:
        found = await uow.outbox.waiting_after(before, now + timedelta(hours=1))
        everything = await uow.outbox.waiting_after(0, now + timedelta(days=2))
        assert await uow.outbox.last_id() == later
    assert list(found) == [due] and found[due] <= now + timedelta(hours=1)
    assert list(everything) == [before, due, later]
    assert everything[later] > found[due]
