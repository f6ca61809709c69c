"""A complaint nobody answers keeps reaching someone: both SLA clocks run from the start, each
warns and breaches once, and a breach still unanswered an SLA period later reaches the admins."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.tickets.model import Desk
from scheduler.jobs.tickets import follow_up_tickets
from storage.messaging.tables import outbox
from tests.support.tickets import STAFF_GROUP, clock, complain, seed_desk

ADMIN = "777"
DESK = Desk(str(STAFF_GROUP), frozenset({ADMIN}))


async def _sla_keys(app: App) -> list[str]:
    from sqlalchemy import select

    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.dedupe_key).order_by(outbox.c.id))).all()
    return [row[0] for row in rows if ":sla:" in row[0]]


async def test_a_complaint_ignored_for_days_warns_breaches_and_escalates_each_once(
    any_app: App,
) -> None:
    app = any_app
    await seed_desk(app)
    await complain(app)  # quality: first answer due in 1 hour, resolution in 24
    opened = app.clock.now()
    # Nobody answers for three days; the job runs at each moment that matters, twice (a rerun,
    # or a second scheduler, says nothing new).
    for minutes in (30, 49, 61, 90, 121, 600, 19 * 60 + 13, 24 * 60 + 1, 36 * 60, 48 * 60 + 1,
                    72 * 60):
        clock(app).set(opened + timedelta(minutes=minutes))
        for _ in range(2):
            await follow_up_tickets(app.uow_factory, app.policy, DESK, app.clock.now())
    keys = await _sla_keys(app)
    clocks = [key.split(":")[3:5] for key in keys]
    for clock_name in ("first_response", "resolution"):
        said = [level for name, level in clocks if name == clock_name]
        # warn once (to the group: nobody holds it), breach once per manager, escalate once
        # per admin: each alert once whatever the number of runs.
        assert said.count("warn") == 1, (clock_name, keys)
        assert "breach" in said and "escalate" in said, (clock_name, keys)
    assert len(keys) == len(set(keys))
    escalations = [k for k in keys if ":escalate" in k]
    assert escalations == [
        f"ticket:1:sla:first_response:escalate:{ADMIN}",
        f"ticket:1:sla:resolution:escalate:{ADMIN}",
    ]


async def test_an_answered_ticket_is_not_escalated_for_its_first_answer(any_app: App) -> None:
    from tests.support.tickets import AGENT, say

    app = any_app
    await seed_desk(app)
    await complain(app)
    clock(app).advance(timedelta(minutes=70))  # breached: the managers hear
    await follow_up_tickets(app.uow_factory, app.policy, DESK, app.clock.now())
    await say(app, "/take 1", user=AGENT)
    await say(app, "/reply 1 Sorry, we are on it", user=AGENT)
    clock(app).advance(timedelta(hours=2))
    await follow_up_tickets(app.uow_factory, app.policy, DESK, app.clock.now())
    keys = await _sla_keys(app)
    assert not [k for k in keys if "first_response:escalate" in k]
    assert [k for k in keys if "first_response:breach" in k]
