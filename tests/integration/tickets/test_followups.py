"""Ticket follow-ups by time travel: SLA reminders at 80%, breach alerts to managers, reminders
to members who owe an answer, closing by itself, check-ins; none of them ever twice."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.staff.model import Role, StaffMember
from domain.tickets.model import Desk, TicketStatus
from scheduler import registry
from scheduler.jobs.tickets import TICKET_JOB, follow_up_tickets, ticket_followups
from tests.support.conversation import MEMBER, say
from tests.support.jobs import run_as_scheduled
from tests.support.tickets import (
    AGENT,
    MANAGER,
    STAFF_GROUP,
    audit_rows,
    clock,
    complain,
    outbox_to,
    seed_desk,
)

DESK = Desk(str(STAFF_GROUP))


async def _run(app: App, desk: Desk = DESK) -> str:
    run = await follow_up_tickets(app.uow_factory, app.policy, desk, app.clock.now())
    return run.summary()


def _keys(rows: list[object]) -> list[str]:
    return [row.dedupe_key for row in rows]  # type: ignore[attr-defined]


async def test_sla_reminder_at_80_percent_then_breach_to_managers_each_once(
    any_app: App,
) -> None:
    app = any_app
    await seed_desk(app)
    await complain(app)  # quality: first answer due in 1 hour
    await say(app, "/take 1", user=AGENT)
    opened = app.clock.now()

    clock(app).advance(timedelta(minutes=47))
    assert "0 SLA reminders" in await _run(app)
    assert await outbox_to(app, AGENT) == []

    clock(app).advance(timedelta(minutes=1))  # 48 minutes: 80% of the hour
    assert "1 SLA reminders" in await _run(app)
    assert "0 SLA reminders" in await _run(app)  # the same moment again: nothing new
    (warn,) = await outbox_to(app, AGENT)
    assert warn.dedupe_key == "ticket:1:sla:first_response:warn"
    assert warn.message_key == "desk.sla_warn.first_response"

    clock(app).advance(timedelta(minutes=12))  # due: the manager hears, in a private chat
    assert "1 breach alerts" in await _run(app)
    clock(app).advance(timedelta(minutes=30))
    assert "0 breach alerts" in await _run(app)
    assert _keys(await outbox_to(app, MANAGER)) == [
        f"ticket:1:sla:first_response:breach:{MANAGER}"
    ]
    assert len(await outbox_to(app, AGENT)) == 1
    assert [r.action for r in await audit_rows(app)][-2:] == ["ticket.sla_warn",
                                                             "ticket.sla_breach"]

    # The first answer starts the resolution clock (24 h for quality), with its own alerts.
    await say(app, "/reply 1 Looking into it", user=AGENT)
    await say(app, "thanks, any news?")  # the member answers: back with the staff
    clock(app).set(opened + timedelta(hours=19, minutes=13))  # 80% of 24 hours
    await _run(app)
    assert "ticket:1:sla:resolution:warn" in _keys(await outbox_to(app, AGENT))


async def test_an_unassigned_ticket_warns_the_staff_group_and_without_managers_admins_hear(
    app: App,
) -> None:
    await seed_desk(app)
    async with app.uow_factory() as uow:  # no managers: the admins are told instead
        manager = await uow.staff.get_by_telegram_id(str(MANAGER))
        assert manager is not None
        manager.active = False
        await uow.staff.save(manager)
        await uow.staff.save(StaffMember("6201", Role.ADMIN, "Li"))
        await uow.commit()
    await complain(app)
    clock(app).advance(timedelta(minutes=50))
    await _run(app, Desk(str(STAFF_GROUP), frozenset({"777"})))
    warn = [r for r in await outbox_to(app, STAFF_GROUP) if "sla" in r.dedupe_key]
    assert _keys(warn) == ["ticket:1:sla:first_response:warn"] and warn[0].topic == "ticket:1"
    clock(app).advance(timedelta(hours=1))
    await _run(app, Desk(str(STAFF_GROUP), frozenset({"777"})))
    assert _keys(await outbox_to(app, "6201")) == ["ticket:1:sla:first_response:breach:6201"]
    assert _keys(await outbox_to(app, 777)) == ["ticket:1:sla:first_response:breach:777"]


async def test_a_member_who_does_not_answer_is_reminded_once_then_the_ticket_closes(
    any_app: App,
) -> None:
    app = any_app
    await seed_desk(app)
    await complain(app, "rude cashier", category="service")
    await say(app, "/reply 1 Which day was it?", user=AGENT)
    rules = app.policy.tickets

    clock(app).advance(timedelta(days=rules.member_reminder_days, minutes=1))
    assert "1 member reminders" in await _run(app)
    assert "0 member reminders" in await _run(app)
    reminder = [r for r in await outbox_to(app, MEMBER)
                if r.message_key == "ticket.member_reminder"]
    assert len(reminder) == 1 and reminder[0].quiet_hours  # nobody asked for it right now
    assert reminder[0].params["days"] == rules.auto_close_days - rules.member_reminder_days

    clock(app).advance(timedelta(days=rules.auto_close_days - rules.member_reminder_days))
    assert "1 closed automatically" in await _run(app)
    assert "0 closed automatically" in await _run(app)
    async with app.uow_factory() as uow:
        ticket = await uow.tickets.get(1)
    assert ticket is not None and ticket.status is TicketStatus.CLOSED
    assert ticket.close_reason == "no_answer"
    closing = [r for r in await outbox_to(app, MEMBER) if r.message_key == "ticket.auto_closed"]
    assert len(closing) == 1 and closing[0].buttons == []
    assert "survey:ticket:1" in _keys(await outbox_to(app, MEMBER))  # how did it go?
    assert "ticket:1:auto-closed" in _keys(await outbox_to(app, STAFF_GROUP))

    # Some days later the member gets one check-in, and then nothing more ever.
    clock(app).advance(timedelta(days=rules.follow_up_days))
    assert "1 check-ins" in await _run(app)
    clock(app).advance(timedelta(days=30))
    assert "0 tickets checked" in await _run(app)
    checkins = [r for r in await outbox_to(app, MEMBER) if r.message_key == "ticket.follow_up"]
    assert _keys(checkins) == ["ticket:1:follow-up"]


async def test_a_member_who_answers_starts_a_new_waiting_period_with_its_own_reminder(
    app: App,
) -> None:
    await seed_desk(app)
    await complain(app, "rude cashier", category="service")
    await say(app, "/reply 1 Which day was it?", user=AGENT)
    clock(app).advance(timedelta(days=2, minutes=1))
    await _run(app)
    await say(app, "Monday")  # the member answers: the ticket is with the staff again
    await say(app, "/reply 1 And which till?", user=AGENT)
    clock(app).advance(timedelta(days=2, minutes=1))
    await _run(app)
    reminders = [r for r in await outbox_to(app, MEMBER)
                 if r.message_key == "ticket.member_reminder"]
    assert len(reminders) == 2 and len(set(_keys(reminders))) == 2


async def test_a_resolved_ticket_nobody_reopens_closes_and_asks_how_it_went(app: App) -> None:
    await seed_desk(app)
    await complain(app)
    await say(app, "/resolve 1", user=AGENT)
    clock(app).advance(timedelta(days=app.policy.tickets.reopen_days, minutes=1))
    assert "1 closed automatically" in await _run(app)
    notices = [r for r in await outbox_to(app, MEMBER)
               if r.message_key == "ticket.closed_notice"]
    assert len(notices) == 1
    assert "survey:ticket:1" in _keys(await outbox_to(app, MEMBER))
    async with app.uow_factory() as uow:
        ticket = await uow.tickets.get(1)
    assert ticket is not None and ticket.close_reason == "resolved"
    assert ticket.sla_stage(app.clock.now(), 0.8) is None  # no clock runs on a closed ticket


async def test_the_job_is_registered_under_a_fixed_id_and_records_its_runs(app: App) -> None:
    await seed_desk(app)
    await complain(app)
    names = [spec.name for spec in registry.job_specs(app.policy)]
    assert TICKET_JOB in names
    spec = registry.spec_named(app.policy, TICKET_JOB)
    assert spec.ref == "scheduler.jobs.tickets:ticket_followups" and spec.trigger is not None

    clock(app).advance(timedelta(minutes=50))
    summary = await run_as_scheduled(app, ticket_followups)
    assert "1 SLA reminders" in summary
    async with app.uow_factory() as uow:
        runs = await uow.jobs.runs()
    assert runs[TICKET_JOB].ok and "1 SLA reminders" in runs[TICKET_JOB].result
