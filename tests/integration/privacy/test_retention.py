"""Retention: the daily privacy job removes free texts older than the policy keeps them, keeps
the rows and their numbers, reports what it removed, and removes nothing twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from bot.bootstrap import App
from domain.privacy.services import cancel_erasure
from domain.shared.member_data import ERASED_TEXT
from scheduler.jobs.privacy import run_privacy
from storage.messaging.tables import outbox
from storage.surveys.tables import survey_answers
from storage.tickets.tables import ticket_messages
from tests.support.footprint import DESCRIPTION, member_books, seed_footprint


async def test_old_free_texts_are_removed_once_and_the_figures_stay(
    desk_app: App,
) -> None:
    app = desk_app
    fp = await seed_footprint(app)
    now = app.clock.now()
    async with app.uow_factory() as uow:  # the seeded deletion request: kept, this time
        assert await cancel_erasure(uow, fp.member_id, now)
        await uow.commit()
    async with app.engine.begin() as conn:  # delivered, all but one still waiting
        first = await conn.scalar(select(func.min(outbox.c.id)))
        await conn.execute(update(outbox).where(outbox.c.id != first).values(status="sent"))
    books = await member_books(app, fp.member_id)

    soon = await run_privacy(app.uow_factory, app.policy, now + timedelta(days=30))
    assert sum(soon.removed.values()) == 0  # a month on, everything is still kept

    later = now + timedelta(days=25 * 31)  # past every default (24 months at most)
    run = await run_privacy(app.uow_factory, app.policy, later)
    assert run.removed["ticket texts"] > 0 and run.removed["survey comments"] == 1
    assert run.removed["outbox texts"] > 0 and run.erased_members == 0
    assert "ticket texts" in run.summary()
    async with app.engine.connect() as conn:
        texts = set(await conn.scalars(select(ticket_messages.c.text)))
        comments = list(await conn.scalars(select(survey_answers.c.comment)))
        sent = list(await conn.execute(
            select(outbox.c.text, outbox.c.params).where(outbox.c.status == "sent")
        ))
    assert texts == {ERASED_TEXT} and comments == [ERASED_TEXT]
    assert sent and all(row.text is None and row.params == {} for row in sent)
    async with app.engine.connect() as conn:
        waiting = (await conn.execute(select(outbox.c.params).where(outbox.c.id == first))).one()
    assert waiting.params != {}  # a message still to be sent keeps its text
    assert DESCRIPTION not in repr(texts)
    assert await member_books(app, fp.member_id) == books  # counts, points, scores unchanged

    again = await run_privacy(app.uow_factory, app.policy, later)
    assert sum(again.removed.values()) == 0
