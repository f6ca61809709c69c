"""Callbacks over HTTP, on aiogram and on python-telegram-bot alike: an agent works the call
queue and presses every outcome button (never seeing a full phone number), a manager sees the
number in full, and a member answers the bot's check-in with every kind of quick answer: "all
good", a reason in one tap, and "I have a problem", which opens a ticket their next words join.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.bootstrap import App
from domain.callbacks.model import Channel, Outcome, Rule
from domain.callbacks.services import schedule_callback
from domain.members.model import Member
from domain.shared.clock import FixedClock
from domain.staff.model import Role, StaffMember
from tests.e2e.conftest import (
    CHEN,
    MEI,
    STAFF_GROUP,
    WANG,
    deliver_outbox,
    link_chat,
    member_by_phone,
    polling_shop,
    seed_member,
)
from tests.support.callbacks import all_callbacks, log_rows, set_rule
from tests.support.standin import BotApiStandIn, BotOutput

ACTIONS = ("ok", "pb", "na", "wn", "ag", "dnc")


def _phone(i: int) -> str:
    return f"+861390013{i:04d}"


@pytest.fixture
async def call_bot(
    standin: BotApiStandIn, tmp_path: object, engine: str, e2e_clock: FixedClock
) -> AsyncIterator[App]:
    """The real app with a staff group, an agent, a manager and six members to call back,
    long-polling the stand-in on `engine`."""
    async with polling_shop(
        standin, tmp_path, engine, e2e_clock, _seed_staff_and_calls, staff_chat_id=STAFF_GROUP
    ) as app:
        yield app


async def _seed_staff_and_calls(app: App) -> None:
    first = await seed_member(app)
    now = app.clock.now()
    async with app.uow_factory() as uow:
        await uow.staff.save(StaffMember(str(WANG), Role.AGENT, "Wang"))
        await uow.staff.save(StaffMember(str(CHEN), Role.MANAGER, "Chen"))
        for i, _action in enumerate(ACTIONS):
            member = await uow.members.add(Member(
                f"2000{i}", f"Caller {i}", _phone(i), now - timedelta(days=100),
                home_store_id=first.home_store_id,
            ))
            assert member.id is not None
            await schedule_callback(uow, app.policy, member_id=member.id,
                                    rule=Rule.COMPLAINT, due_at=now - timedelta(hours=i),
                                    dedupe_key=f"e2e:{i}", now=now,
                                    context=f"T-00000{i}", category="service")
        await uow.commit()


async def test_an_agent_presses_every_outcome_button_and_never_sees_a_full_number(
    call_bot: App, standin: BotApiStandIn
) -> None:
    app, t = call_bot, call_bot.translator
    standin.group(STAFF_GROUP, "Service desk", forum=True)
    wang = standin.user(WANG, "Wang", language_code="en")
    calls = {c.dedupe_key: c for c in await all_callbacks(app)}
    standin.send_text(wang, "/calls")
    (queue,) = await standin.wait_for_messages(WANG, 1)
    # The most overdue first: the one due five hours ago.
    assert queue.text.index("C-6") < queue.text.index("C-1")
    for i, action in enumerate(ACTIONS):
        call = calls[f"e2e:{i}"]
        standin.press(wang, queue, f"cl:take:{call.id}")
        (card,) = await standin.wait_for_messages(WANG, 1)
        assert f"C-{call.id}" in card.text and _phone(i)[-4:] in card.text
        standin.press(wang, card, f"cl:{action}:{call.id}")
        (answer,) = await standin.wait_for_messages(WANG, 1)
        if action == "ag":
            assert answer.text == t("en", "callbacks.ask_when", timezone=app.policy.timezone)
            standin.send_text(wang, "tomorrow 10:00")
            (answer,) = await standin.wait_for_messages(WANG, 1)
        open_after = action in ("na", "ag")
        assert answer.text.startswith("🕑" if open_after else "✅"), answer.text
        if action == "ok":
            standin.press(wang, answer, standin.button_data(answer, "note"))
            (ask,) = await standin.wait_for_messages(WANG, 1)
            assert ask.text == t("en", "callbacks.ask_note")
            standin.send_text(wang, "Happy with the refund")
            (noted,) = await standin.wait_for_messages(WANG, 1)
            assert noted.text == t("en", "callbacks.noted")
    for output in standin.outputs(WANG):
        assert all(_phone(i) not in output.text for i in range(len(ACTIONS)))
        assert "+86139" not in output.text

    rows = await log_rows(app)
    assert [r.outcome for r in rows] == [
        Outcome.ALL_GOOD, Outcome.PROBLEM, Outcome.NO_ANSWER, Outcome.WRONG_NUMBER,
        Outcome.CALL_AGAIN, Outcome.DO_NOT_CALL,
    ]
    assert {r.actor for r in rows} == {f"staff:{WANG}"} and rows[0].note == "Happy with the refund"
    # "Reached, problem" opened a ticket; its card went to the staff group's new topic.
    await deliver_outbox(app)
    (ticket_card,) = await standin.wait_for_messages(STAFF_GROUP, 1)
    assert ticket_card.text.startswith("🆕 T-000001")
    assert f"Callback C-{calls['e2e:1'].id}" in ticket_card.text


async def test_a_manager_sees_the_number_in_full_to_tap_and_call(
    call_bot: App, standin: BotApiStandIn
) -> None:
    chen = standin.user(CHEN, "Chen", language_code="en")
    standin.send_text(chen, "/calls")
    (queue,) = await standin.wait_for_messages(CHEN, 1)
    standin.press(chen, queue, queue.inline_buttons[0]["callback_data"])
    (card,) = await standin.wait_for_messages(CHEN, 1)
    assert any(_phone(i) in card.text for i in range(len(ACTIONS)))
    async with call_bot.uow_factory() as uow:
        trail = await uow.audit.find(actor=f"staff:{CHEN}")
    assert [e.action for e in trail] == ["callback.take", "member.view", "member.phone_view"]


async def test_a_member_answers_the_check_in_with_a_problem(
    call_bot: App, standin: BotApiStandIn
) -> None:
    app, t = call_bot, call_bot.translator
    standin.group(STAFF_GROUP, "Service desk", forum=True)
    mei, checkin, call_id = await _linked_checkin(app, standin, Rule.VIP)
    assert checkin.text == t("en", "callbacks.checkin.vip", chain=app.policy.chain_name,
                             context="-")
    assert [b["text"] for b in checkin.inline_buttons] == [
        t("en", "callbacks.checkin.ok_button"), t("en", "callbacks.checkin.problem_button")
    ]
    standin.press(mei, checkin, f"cb:pb:{call_id}")
    (sorry,) = await standin.wait_for_messages(MEI, 1)
    assert sorry.kind == "edit" and sorry.inline_buttons == []
    assert sorry.text == t("en", "callbacks.problem_opened", number="T-000001")
    standin.send_text(mei, "The coffee machine at the entrance is always broken")
    (added,) = await standin.wait_for_messages(MEI, 1)
    assert added.text == t("en", "complaint.added", number="T-000001")


async def _linked_checkin(
    app: App, standin: BotApiStandIn, rule: Rule
) -> tuple[dict[str, object], BotOutput, int]:
    """Mei links her chat; a check-in of `rule` is queued and delivered to her."""
    mei = await link_chat(standin, MEI)
    member = await member_by_phone(app)
    assert member.id is not None
    set_rule(app, rule, channel=Channel.CHECKIN)
    now = app.clock.now()
    async with app.uow_factory() as uow:
        call = await schedule_callback(uow, app.policy, member_id=member.id, rule=rule,
                                       due_at=now, dedupe_key=f"e2e:{rule}", now=now)
        await uow.commit()
    assert call is not None and call.id is not None
    await deliver_outbox(app)
    (checkin,) = await standin.wait_for_messages(MEI, 1)
    return mei, checkin, call.id


async def test_a_member_taps_all_good(call_bot: App, standin: BotApiStandIn) -> None:
    t = call_bot.translator
    mei, checkin, call_id = await _linked_checkin(call_bot, standin, Rule.VIP)
    standin.press(mei, checkin, f"cb:ok:{call_id}")
    (thanks,) = await standin.wait_for_messages(MEI, 1)
    assert thanks.kind == "edit" and thanks.text == t("en", "callbacks.thanks_ok")
    standin.press_forged(mei, checkin, f"cb:pb:{call_id}")  # a stale tap
    (already,) = await standin.wait_for_messages(MEI, 1)
    assert already.text == t("en", "callbacks.already")


async def test_a_member_gone_quiet_says_why_in_one_tap(
    call_bot: App, standin: BotApiStandIn
) -> None:
    t = call_bot.translator
    mei, checkin, call_id = await _linked_checkin(call_bot, standin, Rule.GONE_QUIET)
    assert len(checkin.inline_buttons) == 8
    standin.press(mei, checkin, standin.button_data(checkin, "Prices"))
    (thanks,) = await standin.wait_for_messages(MEI, 1)
    assert thanks.text == t("en", "callbacks.thanks_reason",
                            reason=t("en", "callbacks.reason.prices"))
    (done,) = [c for c in await all_callbacks(call_bot) if c.id == call_id]
    assert (done.outcome, done.reason) == (Outcome.REASON, "prices")
