"""Complaint tickets in the conversation on a real database: the member's side, the staff desk,
who may see and do what, and the audit. On SQLite and PostgreSQL (any_app)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.bootstrap import App
from domain.tickets.model import TicketStatus
from tests.support.conversation import MEMBER, button, photo, press, say
from tests.support.tickets import (
    AGENT,
    AGENT_2,
    MANAGER,
    OTHER_MEMBER,
    STAFF_COMMANDS,
    STAFF_GROUP,
    audit_rows,
    clock,
    complain,
    outbox_to,
    seed_desk,
)

# What a "did you mean" for a mistyped command may offer: commands of the members' menu.
MENU_SUGGESTIONS = {
    f"dym:c:{name}"
    for name in ("start", "points", "profile", "language", "stop", "help", "cancel", "coupons",
                 "exchange", "complaint", "tickets")
}


async def _ticket(app: App, ticket_id: int):  # type: ignore[no-untyped-def]
    async with app.uow_factory() as uow:
        found = await uow.tickets.get(ticket_id)
    assert found is not None
    return found


async def test_a_member_complains_and_the_staff_group_gets_a_card_in_its_topic(
    any_app: App,
) -> None:
    app = any_app
    desk = await seed_desk(app)
    (ask,) = await say(app, "/complaint")
    labels = [b.text for row in ask.buttons for b in row]
    assert "Product quality" in labels and "Cancel" in labels
    (stores,) = await press(app, "ct:cat:quality")
    assert stores.edit and stores.buttons[0][0].text == desk.shop.shanghai.name  # home store
    (describe,) = await press(app, f"ct:st:{desk.shop.shanghai.id}")
    assert describe.key == "complaint.ask_description"
    (opened,) = await say(app, "The milk I bought yesterday was sour")
    assert opened.key == "complaint.opened"
    assert "T-000001" in opened.text and "within an hour" in opened.text  # quality: 1 h

    ticket = await _ticket(app, 1)
    assert ticket.status is TicketStatus.OPEN and ticket.store_id == desk.shop.shanghai.id
    assert ticket.next_check_at == ticket.created_at + timedelta(minutes=48)  # 80% of 1 h
    (card,) = await outbox_to(app, STAFF_GROUP)
    assert card.message_key == "desk.card" and card.topic == "ticket:1"
    assert card.topic_title.startswith("T-000001")
    assert card.params["phone"].endswith(desk.member.phone[-4:])
    assert desk.member.phone not in str(card.params)  # the group sees a masked phone only
    datas = [b["data"] for row in card.buttons for b in row]
    assert {"tk:take:1", "tk:res:1", "tk:close:1", "tk:esc:1", "tk:cn:1:sorry"} <= set(datas)
    assert all(len(d.encode()) <= 64 for d in datas)
    assert [r.action for r in await audit_rows(app)] == ["ticket.open"]


async def test_free_text_that_means_a_complaint_opens_one_with_it_as_the_description(
    app: App,
) -> None:
    await seed_desk(app)
    (ask,) = await say(app, "the milk was sour")
    assert ask.key == "complaint.ask_category"
    await press(app, "ct:cat:quality")
    (opened,) = await press(app, "ct:st:0")  # the description is what they wrote
    assert opened.key == "complaint.opened"
    assert (await _ticket(app, 1)).description == "the milk was sour"

    (chinese,) = await say(app, "投诉", lang="zh")  # a bare "complain" while one is open
    assert chinese.key == "complaint.has_open" and "T-000001" in chinese.text


async def test_complaint_like_words_get_an_offer_and_other_chatter_does_not(app: App) -> None:
    await seed_desk(app)
    # Words the matcher knows for a complaint start one at once, with the text as description;
    # complaint-like words it is unsure of get the offer.
    (ask,) = await say(app, "my bread was mouldy and stale")
    assert ask.key == "complaint.ask_category"
    (cancelled,) = await press(app, "ct:cancel")
    assert cancelled.key == "complaint.cancelled"
    (offer,) = await say(app, "honestly that was disgusting")
    assert offer.key == "complaint.offer"
    (ask,) = await press(app, button([offer], "ct:new"))
    assert ask.key == "complaint.ask_category"
    await press(app, "ct:cat:quality")
    (opened,) = await press(app, "ct:st:0")
    assert opened.key == "complaint.opened"
    assert (await _ticket(app, 1)).description == "honestly that was disgusting"

    async with app.uow_factory() as uow:  # close it, so the next text is not added to it
        ticket = await uow.tickets.get(1)
        assert ticket is not None
        ticket.close(app.clock.now())
        await uow.tickets.save(ticket)
        await uow.commit()
    (lost,) = await say(app, "qwertyuiop")
    assert lost.key == "guess.none" and lost.buttons  # the menu to tap, not a dead end


async def test_while_a_ticket_is_open_texts_and_photos_join_it_and_reach_the_staff(
    any_app: App,
) -> None:
    app = any_app
    await seed_desk(app)
    await complain(app)
    (added,) = await say(app, "I still have the receipt, it was 12.50")
    assert added.key == "complaint.added"
    (added,) = await photo(app, "AgACphoto-of-the-milk", "this one")
    assert added.key == "complaint.added"
    (points,) = await say(app, "my points")  # intents still answer as before
    assert points.key == "points.summary"

    relayed = [
        r for r in await outbox_to(app, STAFF_GROUP) if r.message_key == "desk.member_wrote"
    ]
    assert [r.params["text"] for r in relayed] == ["I still have the receipt, it was 12.50",
                                                   "this one"]
    assert relayed[1].photo_file_id == "AgACphoto-of-the-milk"
    assert {r.topic for r in relayed} == {"ticket:1"}
    async with app.uow_factory() as uow:
        thread = await uow.tickets.messages(1, 10)
    assert [m.text for m in thread] == ["The milk was sour", "I still have the receipt, it "
                                        "was 12.50", "this one"]


async def test_photos_during_the_complaint_are_kept_and_a_caption_describes(app: App) -> None:
    await seed_desk(app)
    await say(app, "/complaint")
    await press(app, "ct:cat:quality")
    await press(app, "ct:st:0")
    (thanks,) = await photo(app, "AgACfirst")
    assert thanks.key == "complaint.photo_received"
    (opened,) = await photo(app, "AgACsecond", "Mould on the bread")
    assert opened.key == "complaint.opened"
    async with app.uow_factory() as uow:
        thread = await uow.tickets.messages(1, 10)
    assert [m.photo_file_id for m in thread] == [None, "AgACfirst", "AgACsecond"]
    assert thread[0].text == "Mould on the bread"
    photos = [r.photo_file_id for r in await outbox_to(app, STAFF_GROUP) if r.photo_file_id]
    assert photos == ["AgACfirst", "AgACsecond"]


async def test_staff_reply_in_the_topic_reaches_the_member_and_a_note_stays_inside(
    any_app: App,
) -> None:
    app = any_app
    await seed_desk(app)
    await complain(app)
    await _topic_is_created(app, "ticket:1", thread="77")

    (sent,) = await say(app, "Sorry! We refund you today.", user=AGENT, chat=STAFF_GROUP,
                        thread_id="77", reply_to="77")
    assert sent.key == "desk.replied"
    (noted,) = await say(app, "#note called the store", user=AGENT, chat=STAFF_GROUP,
                         thread_id="77")
    assert noted.key == "desk.noted"
    await photo(app, "AgACstaffphoto", "the refund slip", user=AGENT, chat=STAFF_GROUP,
                thread_id="77")
    assert await say(app, "lunch?", user=AGENT, chat=STAFF_GROUP) == []  # general chatter

    to_member = await outbox_to(app, MEMBER)
    assert [r.message_key for r in to_member] == ["ticket.staff_reply", "ticket.staff_reply"]
    assert to_member[0].params["text"] == "Sorry! We refund you today."
    assert to_member[1].photo_file_id == "AgACstaffphoto"
    assert not to_member[0].quiet_hours  # an answer they wait for goes day or night
    ticket = await _ticket(app, 1)
    assert ticket.status is TicketStatus.WAITING_MEMBER
    assert ticket.first_responded_at == app.clock.now()
    assert ticket.assignee_id is not None  # the first to answer took it
    async with app.uow_factory() as uow:
        thread = await uow.tickets.messages(1, 10)
    assert [(m.text, m.internal) for m in thread][1:3] == [
        ("Sorry! We refund you today.", False), ("called the store", True)
    ]
    (view,) = await press(app, "ct:view:1")  # the member's view has no notes
    assert "called the store" not in view.text and "We refund you today" in view.text


async def _topic_is_created(app: App, topic: str, *, thread: str) -> None:
    """What the sender does when it posts the card in a forum group."""
    from domain.messaging.model import ChatTopic

    async with app.uow_factory() as uow:
        await uow.outbox.save_topic(ChatTopic(str(STAFF_GROUP), topic, thread, None),
                                    app.clock.now())
        await uow.commit()


async def test_a_reply_to_a_relayed_message_in_a_plain_group_finds_the_ticket(app: App) -> None:
    await seed_desk(app)
    await complain(app)
    async with app.uow_factory() as uow:  # the sender delivered the card as message 555
        card = await uow.outbox.get_by_dedupe_key("ticket:1:card")
        assert card is not None and card.id is not None
        await uow.outbox.mark_sent(card.id, app.clock.now(), "555")
        await uow.commit()
    (sent,) = await say(app, "We are on it", user=AGENT, chat=STAFF_GROUP, reply_to="555")
    assert sent.key == "desk.replied"
    assert await say(app, "We are on it", user=AGENT, chat=STAFF_GROUP, reply_to="556") == []


async def test_someone_not_staff_in_the_staff_group_is_not_relayed(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_desk(app)
    await complain(app)
    await _topic_is_created(app, "ticket:1", thread="77")
    with caplog.at_level(logging.WARNING):
        assert await say(app, "hi", user=999, chat=STAFF_GROUP, thread_id="77") == []
    assert "not staff" in caplog.text
    assert await outbox_to(app, MEMBER) == []


async def test_agents_work_their_own_or_free_tickets_and_managers_any(any_app: App) -> None:
    app = any_app
    await seed_desk(app)
    await complain(app)
    (taken,) = await press(app, "tk:take:1", user=AGENT, chat=STAFF_GROUP)
    assert taken.key == "desk.done.take"
    (refused,) = await say(app, "/reply 1 hello", user=AGENT_2)
    assert refused.key == "desk.not_yours"
    (refused,) = await press(app, "tk:close:1", user=AGENT_2)  # a made-up button: same answer
    assert refused.key == "desk.not_yours"
    (refused,) = await say(app, "/assign 1 @Zhao Min", user=AGENT)
    assert refused.key == "desk.assign_not_allowed"
    (assigned,) = await say(app, "/assign 1 @zhao mim", user=MANAGER)  # a typo in the name
    assert assigned.key == "desk.assigned_done" and "Zhao Min" in assigned.text
    (replied,) = await say(app, "/reply 1 hello from Zhao", user=AGENT_2)
    assert replied.key == "desk.replied"
    (note,) = await say(app, "/assign 1 nobody-here", user=MANAGER)
    assert note.key == "desk.no_such_staff"
    notices = [r for r in await outbox_to(app, AGENT_2) if r.message_key == "desk.assigned"]
    assert len(notices) == 1 and notices[0].params["number"] == "T-000001"


async def test_personal_data_is_shown_by_need_and_every_view_is_audited(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    await complain(app)
    phone = desk.member.phone or ""
    (agent_view,) = await say(app, "/ticket 1", user=AGENT)
    assert phone not in agent_view.text and phone[-4:] in agent_view.text
    assert "1990-05-31" not in agent_view.text and "hidden" in agent_view.text
    assert "320" in agent_view.text  # points
    (manager_view,) = await say(app, "/ticket T-000001", user=MANAGER)
    assert phone in manager_view.text and "1990-05-31" in manager_view.text
    (in_group,) = await say(app, "/ticket 1", user=MANAGER, chat=STAFF_GROUP)
    assert phone not in in_group.text and "1990-05-31" not in in_group.text
    views = [r for r in await audit_rows(app) if r.action == "ticket.view"]
    assert [(r.actor, r.ticket_id, r.member_id) for r in views] == [
        (f"staff:{AGENT}", 1, desk.member.id),
        (f"staff:{MANAGER}", 1, desk.member.id),
        (f"staff:{MANAGER}", 1, desk.member.id),
    ]
    assert [r.detail for r in views] == ["member data masked", "member data in full",
                                         "member data masked"]


async def test_member_search_by_phone_number_and_misspelled_name(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    phone = desk.member.phone or ""
    by_phone = await say(app, f"/member {phone}", user=AGENT)
    assert [m.key for m in by_phone] == ["desk.member_card"]
    assert desk.member.member_no in by_phone[0].text and phone not in by_phone[0].text
    by_number = await say(app, f"/member {desk.other.member_no}", user=MANAGER)
    assert desk.other.name in by_number[0].text and (desk.other.phone or "") in by_number[0].text
    fuzzy = await say(app, "/member Membr 1", user=AGENT)  # "Member 1", misspelled
    assert desk.member.member_no in fuzzy[0].text
    (none,) = await say(app, "/member +8613999999999", user=AGENT)
    assert none.key == "desk.member_none"
    searches = [r for r in await audit_rows(app) if r.action.startswith("member.")]
    assert [r.action for r in searches][:2] == ["member.search", "member.view"]
    assert all(phone not in r.detail for r in searches)  # the query itself is not recorded
    assert searches[0].detail == "by phone: 1 found"


async def test_resolve_reopen_close_and_rate(any_app: App) -> None:
    app = any_app
    await seed_desk(app)
    await complain(app)
    (done,) = await say(app, "/resolve 1", user=AGENT)
    assert done.key == "desk.done.resolve"
    resolved = [r for r in await outbox_to(app, MEMBER) if r.message_key == "ticket.resolved"]
    assert resolved[0].buttons == [[{"key": "ticket.reopen_button", "data": "ct:reopen:1"}]]

    clock(app).advance(timedelta(days=2))
    (again,) = await press(app, "ct:reopen:1")
    assert again.key == "ticket.reopened"
    assert (await _ticket(app, 1)).status is TicketStatus.WAITING_STAFF
    (listing,) = await say(app, "/tickets")
    assert "T-000001" in listing.text and "with us" in listing.text

    (closed,) = await press(app, "tk:close:1", user=AGENT)
    assert closed.key == "desk.done.close"
    # The closing notice, then the survey after tickets: its answer is the ticket's rating.
    notice, survey = [r for r in await outbox_to(app, MEMBER)
                      if r.message_key in ("ticket.closed_notice", "surveys.invite")]
    assert notice.message_key == "ticket.closed_notice" and notice.buttons == []
    assert survey.dedupe_key == "survey:ticket:1"
    scored, _comment = await press(app, survey.buttons[0][3]["data"])
    assert scored.key == "surveys.scored" and scored.edit
    ticket = await _ticket(app, 1)
    assert ticket.satisfaction == 4 and ticket.close_reason == "staff"
    (late,) = await press(app, "ct:reopen:1")
    assert late.key == "ticket.cannot_reopen"
    (refused,) = await say(app, "/reply 1 anything else?", user=AGENT)
    assert refused.key == "ticket.closed"
    actions = [r.action for r in await audit_rows(app)]
    assert actions == ["ticket.open", "ticket.resolve", "ticket.reopen", "ticket.close",
                       "ticket.rate"]


async def test_canned_replies_are_previewed_then_sent_in_the_members_language(app: App) -> None:
    await seed_desk(app)
    async with app.uow_factory() as uow:  # the member reads Chinese
        chat = await uow.chat_users.get("telegram", str(MEMBER))
        assert chat is not None
        chat.language = "zh"
        await uow.chat_users.save(chat)
        await uow.commit()
    await complain(app)
    (card,) = await say(app, "/ticket 1", user=AGENT)
    (preview,) = await press(app, button([card], "tk:cn:1:refund"), user=AGENT)
    assert preview.key == "desk.canned_preview" and "退款" in preview.text
    assert await outbox_to(app, MEMBER) == []  # nothing sent before the confirmation
    (sent,) = await press(app, button([preview], "tk:cs:1:refund"), user=AGENT)
    assert sent.key == "desk.replied" and sent.edit
    (reply,) = await outbox_to(app, MEMBER)
    assert "退款" in reply.params["text"]


async def test_every_staff_command_from_a_member_is_an_unknown_command(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_desk(app)
    await complain(app)
    unknown = (await say(app, "/frobnicate"))[0]
    for command in STAFF_COMMANDS:
        with caplog.at_level(logging.WARNING):
            (answer,) = await say(app, command)
        name = command[1:].split()[0]
        # Exactly what an unknown command of that name gets: "I don't know /name", with the
        # closest menu commands to tap when there are any (/ticket -> /tickets), never a
        # staff command.
        assert unknown.key == "command.unknown"
        assert answer.key in ("command.unknown", "guess.command"), command
        assert answer.text == app.translator("en", answer.key, command=name)
        offered = [b.data for row in answer.buttons for b in row]
        assert all(data in MENU_SUGGESTIONS for data in offered), offered
        assert f"sent /{name}" in caplog.text
    assert not [r for r in await audit_rows(app) if r.actor.startswith("staff:")]
    assert (await _ticket(app, 1)).status is TicketStatus.OPEN


async def test_forged_button_data_is_refused(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_desk(app)
    await complain(app)  # ticket 1 is the first member's
    with caplog.at_level(logging.WARNING):
        (staff_button,) = await press(app, "tk:close:1")  # a member forging a staff button
    assert staff_button.key == "button.expired" and "not staff" in caplog.text
    (other,) = await press(app, "ct:reopen:1", user=OTHER_MEMBER)
    assert other.key == "ticket.not_found"
    (other,) = await press(app, "ct:view:1", user=OTHER_MEMBER)
    assert other.key == "ticket.not_found"
    (missing,) = await say(app, "/ticket 99", user=AGENT)
    assert missing.key == "desk.ticket_not_found"  # in the desk's words, not the member's
    assert (await _ticket(app, 1)).status is TicketStatus.OPEN


async def test_the_queue_puts_the_most_urgent_sla_first(any_app: App) -> None:
    app = any_app
    await seed_desk(app)
    await complain(app, "rude cashier", category="service")  # first answer due in 4 h
    clock(app).advance(timedelta(minutes=10))
    await complain(app, "sour milk", category="quality", user=OTHER_MEMBER)  # due in 1 h
    (queue,) = await say(app, "/queue", user=AGENT)
    assert queue.key == "desk.queue"
    assert queue.text.index("T-000002") < queue.text.index("T-000001")
    assert "Active tickets: 2 (0 past their SLA, 2 unassigned)" in queue.text
    clock(app).advance(timedelta(hours=2))
    (queue,) = await say(app, "/queue", user=AGENT)
    assert "(1 past their SLA" in queue.text and "🔴 T-000002" in queue.text
    await say(app, "/resolve 2", user=AGENT)
    await say(app, "/resolve 1", user=AGENT)
    (empty,) = await say(app, "/queue", user=AGENT)
    assert empty.key == "desk.queue_empty"


async def test_admins_from_settings_work_tickets_and_are_named_in_the_audit(app: App) -> None:
    await seed_desk(app)
    deps = app.conversation.deps
    deps.desk = replace(deps.desk, admin_ids=frozenset({"777"}))  # as ADMIN_IDS=777 does
    await complain(app)
    (taken,) = await say(app, "/take 1", user=777, name="Boss")
    assert taken.key == "desk.done.take" and "Boss" in taken.text
    assert (await _ticket(app, 1)).assignee_id is not None
    assert (await audit_rows(app))[-1].actor == "staff:777"


async def test_regression_a_sentence_sharing_one_word_with_an_intent_is_not_that_intent(
    app: App,
) -> None:
    # "my order never came" used to score 85.5 against "my points" (one shared word) and got
    # the points summary instead of reaching the member's open ticket.
    await seed_desk(app)
    await complain(app)
    for text in ("my order never came", "the eggs were broken as well"):
        (answer,) = await say(app, text)
        assert answer.key == "complaint.added", text
    (points,) = await say(app, "my points please")
    assert points.key == "points.summary"


async def test_a_description_typed_instead_of_a_category_is_kept(app: App) -> None:
    await seed_desk(app)
    await say(app, "/complaint")
    (noted,) = await say(app, "The eggs in my box were all cracked")
    assert noted.key == "complaint.noted_choose_category"
    (stores,) = await say(app, "quality")  # a category may be typed too
    assert stores.key.startswith("complaint.ask_store")
    (opened,) = await press(app, "ct:st:0")
    assert opened.key == "complaint.opened"
    assert (await _ticket(app, 1)).description == "The eggs in my box were all cracked"


async def test_commands_in_a_tickets_topic_may_leave_out_its_number(app: App) -> None:
    await seed_desk(app)
    await complain(app)
    await _topic_is_created(app, "ticket:1", thread="77")
    (taken,) = await say(app, "/take", user=AGENT, chat=STAFF_GROUP, thread_id="77")
    assert taken.key == "desk.done.take" and "T-000001" in taken.text
    (resolved,) = await say(app, "/resolve", user=AGENT, chat=STAFF_GROUP, thread_id="77")
    assert resolved.key == "desk.done.resolve"
    (usage,) = await say(app, "/close", user=AGENT, chat=STAFF_GROUP)  # outside any topic
    assert usage.key == "desk.usage_action"
