"""The staff's call queue: a resolved complaint is called back, the queue is for staff only,
agents never see a full phone number, every outcome is one log row, and overdue calls remind
the assignee then the managers, once each."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.bootstrap import App
from domain.callbacks.model import CallbackStatus, FlagKind, Outcome, Rule
from domain.callbacks.services import schedule_callback
from domain.privacy.model import Purpose
from domain.privacy.services import set_consent
from domain.tickets.services import open_ticket
from storage.tickets.tables import tickets
from tests.support.callbacks import all_callbacks, log_rows, resolved_complaint, run_job
from tests.support.coupons import add_member
from tests.support.tickets import (
    AGENT,
    AGENT_2,
    MANAGER,
    MEMBER,
    STAFF_GROUP,
    audit_rows,
    clock,
    outbox_to,
    press,
    say,
    seed_desk,
)

HOUR = timedelta(hours=1)


async def _call(app: App, member_id: int, key: str) -> int:
    """A complaint callback due now for the member."""
    now = app.clock.now()
    async with app.uow_factory() as uow:
        made = await schedule_callback(uow, app.policy, member_id=member_id, rule=Rule.COMPLAINT,
                                       due_at=now, dedupe_key=key, now=now, context="T-000009",
                                       category="delivery")
        await uow.commit()
    assert made is not None and made.id is not None
    return made.id


async def test_a_resolved_complaint_is_in_the_call_queue_within_a_day(app: App) -> None:
    await seed_desk(app)
    await resolved_complaint(app)
    (call,) = await all_callbacks(app)
    assert (call.rule, call.status, call.context, call.category) == (
        Rule.COMPLAINT, CallbackStatus.QUEUED, "T-000001", "quality"
    )
    assert call.due_at == app.clock.now() + 4 * HOUR
    (empty,) = await say(app, "/calls", user=AGENT)
    assert empty.key == "callbacks.queue_empty"  # not due yet
    clock(app).advance(5 * HOUR)
    (queue,) = await say(app, "/calls", user=AGENT)
    assert queue.key == "callbacks.queue"
    assert "C-1" in queue.text and "T-000001" in queue.text and "1 h late" in queue.text
    assert queue.buttons[0][0].data == "cl:take:1"
    # The resolved-again ticket is called once.
    (reopened,) = await press(app, "ct:reopen:1")
    assert reopened.key == "ticket.reopened"
    await say(app, "/resolve 1", user=MANAGER)
    assert len(await all_callbacks(app)) == 1


async def test_members_get_the_unknown_command_answer_for_the_call_queue(app: App) -> None:
    await seed_desk(app)
    await resolved_complaint(app)
    (answer,) = await say(app, "/calls", user=MEMBER)
    assert answer.key == "command.unknown"
    (refused,) = await press(app, "cl:take:1", user=MEMBER)
    assert refused.key == "button.expired"
    (group,) = await say(app, "/calls", user=AGENT, chat=STAFF_GROUP)
    assert group.key == "callbacks.private_only"
    assert [c.assignee_id for c in await all_callbacks(app)] == [None]


async def test_an_agent_sees_the_phone_masked_and_a_manager_in_full(app: App) -> None:
    desk = await seed_desk(app)
    await resolved_complaint(app)
    clock(app).advance(5 * HOUR)
    phone = desk.member.phone
    assert phone is not None
    (card,) = await press(app, "cl:take:1", user=AGENT)
    assert card.key == "callbacks.card"
    assert phone not in card.text and phone[-4:] in card.text
    assert "Repair only, no selling" in card.text and desk.member.name in card.text
    assert [b.data for row in card.buttons for b in row] == [
        "cl:ok:1", "cl:pb:1", "cl:na:1", "cl:wn:1", "cl:ag:1", "cl:dnc:1"
    ]
    (theirs,) = await press(app, "cl:take:1", user=AGENT_2)
    assert theirs.key == "callbacks.not_yours"
    (full,) = await press(app, "cl:take:1", user=MANAGER)
    assert phone in full.text
    views = [(r.actor, r.action, r.detail) for r in await audit_rows(app)
             if r.action in ("member.view", "member.phone_view", "callback.take")]
    assert views == [
        (f"staff:{AGENT}", "callback.take", "C-1"),
        (f"staff:{AGENT}", "member.view", "from call C-1: member data masked"),
        (f"staff:{MANAGER}", "callback.take", "C-1"),
        (f"staff:{MANAGER}", "member.view", "from call C-1: member data in full"),
        (f"staff:{MANAGER}", "member.phone_view", "from call C-1"),
    ]
    # Nothing an agent was sent or shown holds the full number.
    for row in await outbox_to(app, AGENT):
        assert phone not in str(row.params)


async def test_every_outcome_is_one_row_in_the_log_with_who_when_and_what(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    third = await add_member(app, "3", store=desk.shop.shanghai)
    members = [desk.member.id, desk.other.id, third.id]
    # One callback per member in the window: three members, three calls.
    ok, problem, again = [await _call(app, m, f"t:{m}") for m in members if m is not None]
    await _close(app, ok, "cl:ok", AGENT)
    (recorded,) = await press(app, f"cl:pb:{problem}", user=AGENT)
    assert recorded.key == "callbacks.recorded"
    async with app.engine.connect() as conn:
        (ticket,) = list(await conn.execute(select(tickets).where(tickets.c.tags.is_not(None))
                                            .order_by(tickets.c.id.desc()).limit(1)))
    assert ticket.tags == ["callback"] and ticket.category == "delivery"
    assert f"C-{problem}" in ticket.description and "T-000009" in ticket.description
    (ask,) = await press(app, f"cl:ag:{again}", user=AGENT)
    assert ask.key == "callbacks.ask_when"
    (wrong,) = await say(app, "whenever", user=AGENT)
    assert wrong.key == "callbacks.when_invalid"
    (later,) = await say(app, "tomorrow 10:00", user=AGENT)
    assert later.key == "callbacks.recorded_open" and "2026-06-16 10:00" in later.text
    (note_ask,) = await press(app, later.buttons[0][0].data, user=AGENT)
    (noted,) = await say(app, "Asked for the morning, after the school run", user=AGENT)
    assert noted.key == "callbacks.noted"
    rows = await log_rows(app)
    assert [(r.callback_id, r.actor, r.outcome) for r in rows] == [
        (ok, f"staff:{AGENT}", Outcome.ALL_GOOD),
        (problem, f"staff:{AGENT}", Outcome.PROBLEM),
        (again, f"staff:{AGENT}", Outcome.CALL_AGAIN),
    ]
    assert rows[-1].note == "Asked for the morning, after the school run"
    assert rows[-1].call_again_at is not None and all(r.at == app.clock.now() for r in rows)
    calls = {c.id: c for c in await all_callbacks(app)}
    assert calls[again].is_open and calls[again].due_at == rows[-1].call_again_at


async def _close(app: App, callback_id: int, prefix: str, user: int) -> None:
    (recorded,) = await press(app, f"{prefix}:{callback_id}", user=user)
    assert recorded.key == "callbacks.recorded", recorded.key


async def test_no_answer_is_retried_then_closed_as_unreachable(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    assert desk.member.id is not None
    call = await _call(app, desk.member.id, "t:na")
    for attempt in (1, 2):
        (retry,) = await press(app, f"cl:na:{call}", user=AGENT)
        assert retry.key == "callbacks.recorded_open"
        (later,) = await say(app, "/calls", user=AGENT)
        assert later.key == "callbacks.queue_empty"  # back after retry_hours
        clock(app).advance(4 * HOUR)
        assert attempt == (await all_callbacks(app))[0].attempts
    (closed,) = await press(app, f"cl:na:{call}", user=AGENT)
    assert closed.key == "callbacks.recorded"
    assert "unreachable" in closed.text
    (done,) = await all_callbacks(app)
    assert (done.status, done.outcome, done.attempts) == (CallbackStatus.DONE,
                                                          Outcome.UNREACHABLE, 3)
    assert [r.outcome for r in await log_rows(app)][-2:] == [Outcome.NO_ANSWER,
                                                             Outcome.UNREACHABLE]
    (again,) = await press(app, f"cl:na:{call}", user=AGENT)
    assert again.key == "callbacks.closed"


async def test_a_wrong_number_or_a_do_not_call_stops_further_calls(app: App) -> None:
    desk = await seed_desk(app)
    assert desk.member.id is not None and desk.other.id is not None
    await _close(app, await _call(app, desk.member.id, "t:wn"), "cl:wn", AGENT)
    await _close(app, await _call(app, desk.other.id, "t:dnc"), "cl:dnc", MANAGER)
    async with app.uow_factory() as uow:
        assert await uow.callbacks.flags(desk.member.id) == {FlagKind.WRONG_NUMBER}
        assert await uow.callbacks.flags(desk.other.id) == {FlagKind.DO_NOT_CALL}
    assert ("member.phone_flagged", desk.member.id) in [
        (r.action, r.member_id) for r in await audit_rows(app)
    ]
    clock(app).advance(timedelta(days=30))
    now = app.clock.now()
    async with app.uow_factory() as uow:
        for member_id in (desk.member.id, desk.other.id):
            again = await schedule_callback(uow, app.policy, member_id=member_id,
                                            rule=Rule.COMPLAINT, due_at=now,
                                            dedupe_key=f"later:{member_id}", now=now)
            assert again is None


async def test_an_overdue_call_reminds_the_team_then_the_managers_once_each(any_app: App) -> None:
    app = any_app
    await seed_desk(app)
    await resolved_complaint(app)
    (call,) = await all_callbacks(app)
    clock(app).set(call.due_at + 5 * HOUR)
    await run_job(app)
    await run_job(app)
    team = [r for r in await outbox_to(app, STAFF_GROUP) if r.message_key == "callbacks.overdue"]
    assert len(team) == 1 and team[0].dedupe_key == "callback:1:overdue:assignee"
    clock(app).set(call.due_at + 25 * HOUR)
    first = await run_job(app)
    second = await run_job(app)
    assert (first.reminded, second.reminded) == (1, 0)
    managers = [r for r in await outbox_to(app, MANAGER)
                if r.message_key == "callbacks.overdue_managers"]
    assert len(managers) == 1
    # Taken and done: no more reminders.
    await press(app, "cl:take:1", user=AGENT)
    await press(app, "cl:ok:1", user=AGENT)
    clock(app).advance(timedelta(days=3))
    assert (await run_job(app)).reminded == 0


async def test_the_assignee_hears_of_their_own_overdue_call(app: App) -> None:
    await seed_desk(app, staff_group=False)
    await resolved_complaint(app)
    (call,) = await all_callbacks(app)
    clock(app).set(call.due_at)
    await press(app, "cl:take:1", user=AGENT)
    clock(app).advance(5 * HOUR)
    await run_job(app)
    mine = [r for r in await outbox_to(app, AGENT) if r.message_key == "callbacks.overdue"]
    assert [r.dedupe_key for r in mine] == ["callback:1:overdue:assignee"]


async def test_a_detractors_recovery_ticket_is_called_back_under_its_own_rule(
    any_app: App,
) -> None:
    app = any_app
    desk = await seed_desk(app)
    async with app.uow_factory() as uow:
        ticket = await open_ticket(uow, app.policy, app.conversation.deps.desk, desk.member,
                                   category="service", description="NPS 3: rude cashier",
                                   now=app.clock.now(), tags=("survey",))
        await uow.commit()
    await say(app, f"/resolve {ticket.id}", user=MANAGER)
    (call,) = await all_callbacks(app)
    assert (call.rule, call.dedupe_key, call.category) == (
        Rule.DETRACTOR, f"detractor:ticket:{ticket.id}", "service"
    )


async def test_a_member_who_refused_calls_never_enters_the_call_queue(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    assert desk.member.id is not None and desk.other.id is not None
    queued_before = await _call(app, desk.other.id, "t:before")
    now = app.clock.now()
    async with app.uow_factory() as uow:
        for member_id in (desk.member.id, desk.other.id):
            await set_consent(uow, app.policy, member_id, Purpose.CALLS, False, now)
        await uow.commit()
    async with app.uow_factory() as uow:
        refused = await schedule_callback(uow, app.policy, member_id=desk.member.id,
                                          rule=Rule.COMPLAINT, due_at=now,
                                          dedupe_key="t:after", now=now)
        await uow.commit()
    assert refused is None
    # The call queued before the member said no is no longer shown to anyone.
    (queue,) = await say(app, "/calls", user=AGENT)
    assert queue.key == "callbacks.queue_empty"
    assert f"C-{queued_before}" not in queue.text
