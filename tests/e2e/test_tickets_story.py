"""A complaint's story over HTTP, on aiogram and on python-telegram-bot alike, with a staff group
that is a forum: the member complains, staff see the ticket in its own topic, take it, answer,
resolve it; the member reopens it; a manager closes it and the member answers the survey after
it. Made-up button data and staff commands from a member's account are refused like anything
unknown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bootstrap import App
from domain.members.model import ChatUser, Member
from domain.shared.clock import FixedClock
from domain.staff.model import Role, StaffMember
from domain.tickets.model import TicketStatus
from tests.e2e.conftest import (
    CHEN,
    MEI,
    MEMBER_PHONE,
    SAM,
    STAFF_GROUP,
    WANG,
    ZHAO,
    deliver_outbox,
    link_chat,
    member_by_phone,
    polling_shop,
    seed_member,
)
from tests.support.standin import BotApiStandIn, BotOutput
from tests.support.tickets import STAFF_COMMANDS


@pytest.fixture
async def desk_bot(
    standin: BotApiStandIn, tmp_path: object, engine: str, e2e_clock: FixedClock
) -> AsyncIterator[App]:
    """The real app with a staff group, long-polling the stand-in on `engine`."""
    async with polling_shop(
        standin, tmp_path, engine, e2e_clock, _seed_member_and_staff, staff_chat_id=STAFF_GROUP
    ) as app:
        yield app


async def _seed_member_and_staff(app: App) -> None:
    await seed_member(app)
    async with app.uow_factory() as uow:
        await uow.staff.save(StaffMember(str(WANG), Role.AGENT, "Wang"))
        await uow.staff.save(StaffMember(str(ZHAO), Role.AGENT, "Zhao"))
        await uow.staff.save(StaffMember(str(CHEN), Role.MANAGER, "Chen"))
        await uow.commit()


async def _complain(app: App, standin: BotApiStandIn, mei: dict[str, object]) -> BotOutput:
    t = app.translator
    standin.send_text(mei, "/complaint")
    (ask,) = await standin.wait_for_messages(MEI, 1)
    assert ask.text == t("en", "complaint.ask_category")
    standin.press(mei, ask, "ct:cat:quality")
    (stores,) = await standin.wait_for_messages(MEI, 1)
    assert stores.kind == "edit" and stores.text == t("en", "complaint.ask_store")
    standin.press(mei, stores, standin.button_data(stores, "Shanghai"))
    (describe,) = await standin.wait_for_messages(MEI, 1)
    assert describe.text == t("en", "complaint.ask_description")
    standin.send_text(mei, "The milk I bought this morning was sour")
    (opened,) = await standin.wait_for_messages(MEI, 1)
    return opened


async def test_a_complaint_from_the_member_to_the_staff_topic_and_back(
    desk_bot: App, standin: BotApiStandIn
) -> None:
    app, t = desk_bot, desk_bot.translator
    standin.group(STAFF_GROUP, "Service desk", forum=True)
    wang = standin.user(WANG, "Wang", language_code="en")
    chen = standin.user(CHEN, "Chen", language_code="en")
    mei = await link_chat(standin, MEI)

    opened = await _complain(app, standin, mei)
    assert opened.text == t("en", "complaint.opened", number="T-000001",
                            within=t("en", "complaint.within_an_hour"))

    # The sender opens the ticket's topic in the staff forum and posts the card there.
    await deliver_outbox(app)
    ((thread, name),) = standin.topics(STAFF_GROUP).items()
    assert name == "T-000001 · Product quality"
    (card,) = await standin.wait_for_messages(STAFF_GROUP, 1)
    assert card.thread_id == thread and card.text.startswith("🆕 T-000001")
    assert "The milk I bought this morning was sour" in card.text
    assert MEMBER_PHONE not in card.text and MEMBER_PHONE[-4:] in card.text

    # Wang takes it with the card's button; the answer stays in the topic.
    standin.press(wang, card, "tk:take:1")
    (taken,) = await standin.wait_for_messages(STAFF_GROUP, 1)
    assert taken.text == t("en", "desk.done.take", who="Wang", number="T-000001")
    assert taken.thread_id == thread

    # Wang answers in the topic: the member gets it; a #note stays inside.
    standin.send_text(wang, "So sorry! We refund you today.", chat=STAFF_GROUP, thread_id=thread)
    (ack,) = await standin.wait_for_messages(STAFF_GROUP, 1)
    assert ack.text == t("en", "desk.replied", number="T-000001") and ack.thread_id == thread
    standin.send_text(wang, "#note called the store manager", chat=STAFF_GROUP,
                      thread_id=thread)
    (noted,) = await standin.wait_for_messages(STAFF_GROUP, 1)
    assert noted.text == t("en", "desk.noted", number="T-000001")
    await deliver_outbox(app)
    (reply,) = await standin.wait_for_messages(MEI, 1)
    assert reply.text == t("en", "ticket.staff_reply", number="T-000001",
                           text="So sorry! We refund you today.")

    # The member's answer (a photo) goes into the topic; staff resolve from the card.
    standin.send_photo(mei, "the receipt", name="receipt")
    (added,) = await standin.wait_for_messages(MEI, 1)
    assert added.text == t("en", "complaint.added", number="T-000001")
    await deliver_outbox(app)
    (relayed,) = await standin.wait_for_messages(STAFF_GROUP, 1)
    assert relayed.method == "sendphoto" and relayed.thread_id == thread
    assert standin.calls_to("sendPhoto")[-1].params["photo"] == "AgACAgIAAxkBreceipt800"
    standin.press(wang, card, "tk:res:1")
    await standin.wait_for_messages(STAFF_GROUP, 1)
    await deliver_outbox(app)
    (resolved,) = await standin.wait_for_messages(MEI, 1)
    assert resolved.text == t("en", "ticket.resolved", number="T-000001",
                              days=app.policy.tickets.reopen_days)
    # The card in the topic says so and loses its buttons: nobody takes a resolved ticket.
    (card_now,) = await standin.wait_for_messages(STAFF_GROUP, 1)
    assert card_now.kind == "edit" and card_now.message_id == card.message_id
    assert card_now.text.startswith("🆕 T-000001") and card_now.inline_buttons == []
    assert card_now.text.endswith(t("en", "desk.card_now.resolved", number="T-000001"))

    # Not solved for her: she reopens it, and the staff topic hears of it.
    standin.press(mei, resolved, "ct:reopen:1")
    (reopened,) = await standin.wait_for_messages(MEI, 1)
    assert reopened.text == t("en", "ticket.reopened", number="T-000001")
    await deliver_outbox(app)
    notice, card_now = await standin.wait_for_messages(STAFF_GROUP, 2)
    if notice.kind == "edit":
        notice, card_now = card_now, notice
    assert notice.text == t("en", "desk.reopened", number="T-000001")
    assert notice.thread_id == thread
    assert card_now.kind == "edit" and card_now.inline_buttons  # active again: buttons back

    # The manager closes it from a private chat; the survey after tickets asks how it went,
    # and her answer is the ticket's rating.
    standin.send_text(chen, "/close 1")
    (closed,) = await standin.wait_for_messages(CHEN, 1)
    assert closed.text == t("en", "desk.done.close", number="T-000001", who="Chen")
    await deliver_outbox(app)
    notice, question = await standin.wait_for_messages(MEI, 2)
    assert notice.text == t("en", "ticket.closed_notice", number="T-000001")
    (card_now,) = await standin.wait_for_messages(STAFF_GROUP, 1)
    assert card_now.kind == "edit" and card_now.inline_buttons == []
    assert card_now.text.endswith(t("en", "desk.card_now.closed"))
    assert "T-000001" in question.text
    standin.press(mei, question, standin.button_data(question, "5"))
    thanks, comment = await standin.wait_for_messages(MEI, 2)
    assert thanks.kind == "edit" and thanks.inline_buttons == []
    assert thanks.text == t("en", "surveys.scored", score=5, top=5)
    standin.press(mei, comment, standin.button_data(comment, t("en", "surveys.skip_button")))
    (bye,) = await standin.wait_for_messages(MEI, 1)
    assert bye.text == t("en", "surveys.thanks")

    member = await member_by_phone(app)
    async with app.uow_factory() as uow:
        ticket = await uow.tickets.get(1)
        trail = await uow.audit.find(ticket_id=1)
    assert ticket is not None and ticket.member_id == member.id
    assert ticket.status is TicketStatus.CLOSED and ticket.satisfaction == 5
    assert [e.action for e in trail] == [
        "ticket.open", "ticket.take", "ticket.reply", "ticket.note", "ticket.resolve",
        "ticket.reopen", "ticket.close", "ticket.rate",
    ]
    everything_she_saw = " ".join(o.text for o in standin.outputs(MEI))
    assert "called the store manager" not in everything_she_saw
    await standin.assert_quiet(MEI)
    await standin.assert_quiet(STAFF_GROUP)


async def test_made_up_buttons_and_staff_commands_from_members_are_refused(
    desk_bot: App, standin: BotApiStandIn
) -> None:
    app, t = desk_bot, desk_bot.translator
    standin.group(STAFF_GROUP, "Service desk", forum=True)
    mei = await link_chat(standin, MEI)
    opened = await _complain(app, standin, mei)

    # Every staff command from a member's account: exactly the unknown-command answer.
    for command in STAFF_COMMANDS:
        standin.send_text(mei, command)
        (answer,) = await standin.wait_for_messages(MEI, 1)
        name = command[1:].split()[0]
        # As for any unknown command of that name: close menu commands offered (/ticket ->
        # /tickets), never a staff command.
        unknown = t("en", "command.unknown", command=name)
        assert answer.text in (unknown, t("en", "guess.command", command=name)), command
        assert all(b["callback_data"].startswith("dym:c:") for b in answer.inline_buttons)

    # A staff button forged by the member: the answer a stale button gets.
    standin.press_forged(mei, opened, "tk:close:1")
    (refused,) = await standin.wait_for_messages(MEI, 1)
    assert refused.text == t("en", "button.expired")

    # Another member forging buttons of Mei's ticket learns nothing about it.
    now = app.clock.now()
    async with app.uow_factory() as uow:
        other = await uow.members.add(Member("100002", "Sam Wu", "+8613900139000", now))
        await uow.chat_users.save(ChatUser("telegram", str(SAM), str(SAM), member_id=other.id))
        await uow.commit()
    sam = standin.user(SAM, "Sam", language_code="en")
    standin.send_text(sam, "/tickets")
    (none,) = await standin.wait_for_messages(SAM, 1)
    for data in ("ct:reopen:1", "ct:view:1"):
        standin.press_forged(sam, none, data)
        (answer,) = await standin.wait_for_messages(SAM, 1)
        assert answer.text == t("en", "ticket.not_found", number="T-000001"), data

    # An agent may not touch a colleague's ticket, even with made-up data.
    wang = standin.user(WANG, "Wang", language_code="en")
    zhao = standin.user(ZHAO, "Zhao", language_code="en")
    standin.send_text(wang, "/take 1")
    await standin.wait_for_messages(WANG, 1)
    standin.send_text(zhao, "/queue")
    (queue,) = await standin.wait_for_messages(ZHAO, 1)
    assert "T-000001" in queue.text
    standin.press_forged(zhao, queue, "tk:close:1")
    (not_yours,) = await standin.wait_for_messages(ZHAO, 1)
    assert not_yours.text == t("en", "desk.not_yours", number="T-000001")

    async with app.uow_factory() as uow:
        ticket = await uow.tickets.get(1)
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    await standin.assert_quiet(MEI)
