"""The bot's check-in: the rules' timing across time zones and quiet hours, the quick answers,
a problem becoming a ticket, the reason in one tap, and the fallback to the call queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.bootstrap import App
from domain.callbacks.model import CallbackStatus, Channel, Outcome, Rule
from domain.loyalty.model import Receipt
from domain.messaging.model import Recipient
from domain.messaging.rules import decide
from domain.segments.events import LifecycleChanged
from domain.segments.model import Lifecycle
from tests.support.callbacks import (
    all_callbacks,
    log_rows,
    make_gold,
    resolved_complaint,
    run_job,
    set_rule,
)
from tests.support.coupons import add_member
from tests.support.tickets import MEMBER, Desk, clock, outbox_to, press, say, seed_desk

HOUR = timedelta(hours=1)
LATE_EVENING = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai, 10:00 in New York



async def _resolved_complaint_to_check_in(app: App) -> Desk:
    """The desk, checking in after resolved complaints, and the member's complaint resolved."""
    desk = await seed_desk(app)
    set_rule(app, Rule.COMPLAINT, channel=Channel.CHECKIN)
    await resolved_complaint(app)
    return desk


async def _checkin(app: App, chat: int) -> object:
    (row,) = [r for r in await outbox_to(app, chat)
              if (r.message_key or "").startswith("callbacks.checkin.")]
    return row


async def test_vips_are_checked_in_at_their_own_stores_morning(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    ny = await add_member(app, "7", store=desk.shop.new_york, chat=507)
    assert desk.member.id is not None and ny.id is not None
    await make_gold(app, desk.member.id, ny.id)
    # 21:00 in Shanghai (its morning has passed: due now), 09:00 in New York (not yet).
    clock(app).set(datetime(2026, 6, 15, 13, 0, tzinfo=UTC))
    assert (await run_job(app)).created == {"vip": 1}
    clock(app).set(datetime(2026, 6, 15, 14, 0, tzinfo=UTC))  # 10:00 in New York
    assert (await run_job(app)).created == {"vip": 1}
    assert (await run_job(app)).created == {}  # once
    shanghai, new_york = await all_callbacks(app)
    assert shanghai.due_at == datetime(2026, 6, 15, 13, 0, tzinfo=UTC)
    assert new_york.due_at == datetime(2026, 6, 15, 14, 0, tzinfo=UTC)  # 10:00 New York
    row = await _checkin(app, MEMBER)
    assert row.message_key == "callbacks.checkin.vip" and row.quiet_hours
    assert row.kind == "service" and row.member_id == desk.member.id


async def test_a_check_in_waits_for_the_members_morning(app: App) -> None:
    desk = await seed_desk(app)
    assert desk.member.id is not None
    set_rule(app, Rule.COMPLAINT, channel=Channel.CHECKIN)
    clock(app).set(LATE_EVENING - 4 * HOUR)
    await resolved_complaint(app)  # resolved 18:00 in Shanghai: due 22:00, in quiet hours
    assert [r.message_key for r in await outbox_to(app, MEMBER)] == ["ticket.resolved"]
    clock(app).set(LATE_EVENING)
    assert (await run_job(app)).checkins == 1
    row = await _checkin(app, MEMBER)
    assert row.next_attempt_at == LATE_EVENING and row.quiet_hours
    shanghai = Recipient(chat_id=str(MEMBER), language="en", timezone="Asia/Shanghai")
    message = await _message(app, row.dedupe_key)
    decision = decide(message, shanghai, app.policy.delivery, LATE_EVENING, app.policy.timezone)
    assert decision.action == "defer"
    assert decision.until == datetime(2026, 6, 16, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    # The same moment is the morning in New York: a member there gets it now.
    new_york = replace(shanghai, timezone="America/New_York")
    assert decide(message, new_york, app.policy.delivery, LATE_EVENING,
                  app.policy.timezone).action == "send"


async def _message(app: App, dedupe_key: str) -> object:
    async with app.uow_factory() as uow:
        found = await uow.outbox.get_by_dedupe_key(dedupe_key)
    assert found is not None
    return found


async def test_all_good_closes_the_check_in_and_a_second_tap_changes_nothing(app: App) -> None:
    desk = await _resolved_complaint_to_check_in(app)
    (answer,) = await press(app, "cb:ok:1")
    assert answer.key == "callbacks.thanks_ok" and answer.edit
    (again,) = await press(app, "cb:pb:1")
    assert again.key == "callbacks.already"
    (theirs,) = await press(app, "cb:ok:1", user=502)
    assert theirs.key == "callbacks.unknown"
    (made_up,) = await press(app, "cb:rs:1:nonsense")
    assert made_up.key == "callbacks.unknown"
    (call,) = await all_callbacks(app)
    assert (call.status, call.outcome) == (CallbackStatus.DONE, Outcome.ALL_GOOD)
    assert [(r.actor, r.outcome) for r in await log_rows(app)] == [
        (f"member:{desk.member.id}", Outcome.ALL_GOOD)
    ]


async def test_i_have_a_problem_opens_a_ticket_that_takes_the_members_next_words(
    app: App,
) -> None:
    await _resolved_complaint_to_check_in(app)
    (opened,) = await press(app, "cb:pb:1")
    assert opened.key == "callbacks.problem_opened" and "T-000002" in opened.text
    (added,) = await say(app, "The refund never arrived")
    assert added.key == "complaint.added" and "T-000002" in added.text
    async with app.uow_factory() as uow:
        ticket = await uow.tickets.get(2)
    assert ticket is not None and ticket.tags == ("callback",)
    assert ticket.category == "quality" and "C-1" in ticket.description


async def test_a_member_gone_quiet_gets_one_call_and_may_say_why_in_one_tap(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    assert desk.member.id is not None and desk.other.id is not None
    await make_gold(app, desk.member.id)
    set_rule(app, Rule.GONE_QUIET, channel=Channel.CHECKIN)
    now = app.clock.now()
    async with app.uow_factory() as uow:
        # The first refresh classifies everyone: no move, no call.
        await uow.record(LifecycleChanged(now, desk.member.id, None, Lifecycle.LAPSED,
                                          True, True))
        for member_id in (desk.member.id, desk.other.id):  # gold, and an ordinary member
            await uow.record(LifecycleChanged(now, member_id, Lifecycle.ACTIVE,
                                              Lifecycle.AT_RISK, False, False))
        await uow.commit()
    (call,) = await all_callbacks(app)
    assert (call.member_id, call.rule) == (desk.member.id, Rule.GONE_QUIET)
    row = await _checkin(app, MEMBER)
    reasons = [b["data"] for line in row.buttons for b in line][2:]
    assert reasons == [f"cb:rs:1:{r}" for r in
                       ("moved", "prices", "quality", "service", "busy", "other")]
    (thanks,) = await press(app, "cb:rs:1:prices")
    assert thanks.key == "callbacks.thanks_reason" and "Prices" in thanks.text
    (done,) = await all_callbacks(app)
    assert (done.outcome, done.reason) == (Outcome.REASON, "prices")
    clock(app).advance(timedelta(days=30))
    async with app.uow_factory() as uow:
        await uow.record(LifecycleChanged(app.clock.now(), desk.member.id, Lifecycle.AT_RISK,
                                          Lifecycle.LAPSED, True, True))
        await uow.commit()
    assert len(await all_callbacks(app)) == 1  # at most once per 90 days


async def test_an_unanswered_check_in_falls_back_to_the_call_queue(app: App) -> None:
    await _resolved_complaint_to_check_in(app)
    clock(app).advance(5 * HOUR)
    assert (await run_job(app)).checkins == 1  # due 4 h after the resolution
    clock(app).advance(timedelta(days=3) - HOUR)
    assert (await run_job(app)).fell_back == 0
    clock(app).advance(HOUR)
    assert (await run_job(app)).fell_back == 1
    (call,) = await all_callbacks(app)
    assert call.status is CallbackStatus.QUEUED and call.due_at == app.clock.now()
    assert [(r.actor, r.outcome) for r in await log_rows(app)] == [("system", Outcome.FALLBACK)]
    (queue,) = await say(app, "/calls", user=6001)
    assert "C-1" in queue.text


async def test_a_member_the_bot_cannot_reach_goes_straight_to_the_call_queue(app: App) -> None:
    desk = await seed_desk(app)
    stopped = await add_member(app, "8", store=desk.shop.shanghai, chat=508, opted_out=True)
    blocked = await add_member(app, "9", store=desk.shop.shanghai, chat=509, reachable=False)
    unlinked = await add_member(app, "10", store=desk.shop.shanghai)
    ids = [m.id for m in (stopped, blocked, unlinked) if m.id is not None]
    await make_gold(app, *ids)
    assert (await run_job(app)).created == {"vip": 3}
    calls = await all_callbacks(app)
    assert {c.status for c in calls} == {CallbackStatus.QUEUED}
    for chat in (508, 509):
        assert await outbox_to(app, chat) == []
    # A rule without fallback leaves them alone: new members are only checked in.
    for member_id in ids:
        await _receipt(app, member_id, desk.shop.shanghai.id,
                       app.clock.now() - timedelta(days=7, hours=1))
    assert (await run_job(app)).created == {}


async def _receipt(app: App, member_id: int, store_id: int | None, at: datetime) -> None:
    assert store_id is not None
    async with app.uow_factory() as uow:
        await uow.receipts.add_many([Receipt(f"R-{member_id}-{at:%j%H}", store_id, member_id,
                                             at, Decimal("50.00"), "CNY")])
        await uow.commit()


async def test_a_new_member_is_checked_in_a_week_after_the_first_purchase(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    newcomer = await add_member(app, "11", store=desk.shop.shanghai, chat=511)
    assert newcomer.id is not None
    # 23:30 in Shanghai on 7 June: due 14 June at 10:00 Shanghai (02:00 UTC).
    await _receipt(app, newcomer.id, desk.shop.shanghai.id,
                   datetime(2026, 6, 7, 15, 30, tzinfo=UTC))
    clock(app).set(datetime(2026, 6, 14, 1, 45, tzinfo=UTC))
    assert (await run_job(app)).created == {}
    clock(app).set(datetime(2026, 6, 14, 2, 0, tzinfo=UTC))
    assert (await run_job(app)).created == {"new_member": 1}
    await _receipt(app, newcomer.id, desk.shop.shanghai.id, app.clock.now())
    clock(app).advance(timedelta(days=1))
    assert (await run_job(app)).created == {}
    (call,) = await all_callbacks(app)
    assert call.rule is Rule.NEW_MEMBER and call.status is CallbackStatus.CHECKIN
    assert (await _checkin(app, 511)).message_key == "callbacks.checkin.new_member"


async def test_a_complaint_takes_the_place_of_an_open_vip_check_in(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    assert desk.member.id is not None
    await make_gold(app, desk.member.id)
    assert (await run_job(app)).created == {"vip": 1}
    await resolved_complaint(app)
    vip, complaint = await all_callbacks(app)
    assert (vip.outcome, complaint.rule, complaint.status) == (
        Outcome.SUPERSEDED, Rule.COMPLAINT, CallbackStatus.QUEUED
    )
    (late,) = await press(app, f"cb:ok:{vip.id}")
    assert late.key == "callbacks.already"
    clock(app).advance(timedelta(days=31))
    # The window still holds the complaint's call: no VIP check-in yet, then one after it.
    async with app.uow_factory() as uow:
        await uow.callbacks.save(replace(complaint, created_at=app.clock.now()
                                         - timedelta(days=13)))
        await uow.commit()
    assert (await run_job(app)).created == {}
    clock(app).advance(timedelta(days=2))
    assert (await run_job(app)).created == {"vip": 1}


async def test_a_member_who_sends_stop_before_the_check_in_is_due_is_called_instead(
    app: App,
) -> None:
    await _resolved_complaint_to_check_in(app)
    (stopped,) = await say(app, "/stop")
    assert stopped.key.startswith("stop"), stopped.key
    clock(app).advance(5 * HOUR)
    run = await run_job(app)
    assert (run.checkins, run.fell_back) == (0, 1)
    assert not [r for r in await outbox_to(app, MEMBER)
                if (r.message_key or "").startswith("callbacks.")]
    (call,) = await all_callbacks(app)
    assert call.status is CallbackStatus.QUEUED
