"""The staff desk speaks the desk's language: missing tickets, members found by the last four
digits an agent sees, and ticket cards that follow the ticket's status."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from bot.bootstrap import App
from bot.terminal import TerminalChat
from domain.messaging.model import EDIT_OF_PARAM
from tests.integration.tickets.test_delivery import _sender
from tests.support.conversation import MEMBER, press, say
from tests.support.tickets import (
    AGENT,
    STAFF_GROUP,
    ForumMessenger,
    audit_rows,
    clock,
    complain,
    outbox_to,
    seed_desk,
)


async def test_a_missing_ticket_is_told_in_the_desks_words(app: App) -> None:
    await seed_desk(app)
    for answer in (
        *(await say(app, "/take 77", user=AGENT)),
        *(await press(app, "tk:res:77", user=AGENT)),
        *(await press(app, "tk:view:77", user=AGENT)),
    ):
        assert answer.key == "desk.ticket_not_found"
        assert "/queue" in answer.text and "/tickets" not in answer.text


async def test_an_agent_finds_a_member_by_the_last_four_digits_and_it_is_audited(
    any_app: App,
) -> None:
    app = any_app
    desk = await seed_desk(app)
    last_four = (desk.member.phone or "")[-4:]
    found = await say(app, f"/member {last_four}", user=AGENT)
    assert [m.key for m in found] == ["desk.member_card"]
    assert desk.member.member_no in found[0].text
    assert (desk.member.phone or "") not in found[0].text  # agents still see it masked
    (none,) = await say(app, "/member 9999", user=AGENT)
    assert none.key == "desk.member_none"
    rows = [r for r in await audit_rows(app) if r.action.startswith("member.")]
    assert [r.action for r in rows] == ["member.search", "member.view", "member.search"]
    assert rows[0].detail == "by last four digits of the phone: 1 found"
    assert all(last_four not in r.detail for r in rows)  # the query itself is not recorded


async def test_the_card_loses_its_buttons_when_resolved_and_gets_them_back_when_reopened(
    app: App,
) -> None:
    await seed_desk(app)
    messenger = ForumMessenger(forums={str(STAFF_GROUP)})
    await complain(app)
    sender = _sender(app, messenger)
    await sender.drain(max_seconds=20)
    (card,) = [m for m in messenger.to(STAFF_GROUP) if m.text.startswith("🆕 T-000001")]
    assert card.buttons

    await say(app, "/resolve 1", user=AGENT)
    edits = [r for r in await outbox_to(app, STAFF_GROUP) if EDIT_OF_PARAM in r.params]
    assert [(r.message_key, r.params[EDIT_OF_PARAM], r.buttons) for r in edits] == [
        ("desk.card_now.resolved", "ticket:1:card", [])
    ]
    await sender.drain(max_seconds=20)
    chat, message_id, text, buttons = messenger.edits[-1]
    assert (chat, message_id) == (str(STAFF_GROUP), card.message_id)
    assert text.startswith(card.text) and text.endswith("/ticket T-000001 to see it.")
    assert buttons == ()

    clock(app).advance(timedelta(hours=1))
    await press(app, "ct:reopen:1", user=MEMBER)
    await sender.drain(max_seconds=20)
    assert messenger.edits[-1][3]  # active again: the buttons are back
    clock(app).advance(timedelta(hours=1))
    await press(app, "tk:close:1", user=AGENT)
    await sender.drain(max_seconds=20)
    _chat, _id, text, buttons = messenger.edits[-1]
    assert "closed" in text and buttons == ()
    assert len(messenger.edits) == 3
    assert len([m for m in messenger.to(STAFF_GROUP) if m.text.startswith("🆕")]) == 1


async def test_an_edit_waits_for_its_card_and_is_dropped_when_there_is_none(app: App) -> None:
    await seed_desk(app)
    messenger = ForumMessenger(forums={str(STAFF_GROUP)})
    await complain(app)
    await say(app, "/close 1", user=AGENT)  # before the sender ran: the card is not sent yet
    sender = _sender(app, messenger)
    await sender.drain(max_seconds=20)
    # Had the edit come up while the card was still in flight, it was put back for a retry.
    clock(app).advance(timedelta(minutes=5))
    await sender.drain(max_seconds=20)
    assert len(messenger.edits) == 1  # sent after the card, never before it
    card = next(m for m in messenger.to(STAFF_GROUP) if m.text.startswith("🆕"))
    assert messenger.edits[0][1] == card.message_id
    rows = {r.dedupe_key: r for r in await outbox_to(app, STAFF_GROUP)}
    assert all(r.status == "sent" for r in rows.values())


async def test_the_staff_terminal_starts_with_the_desk_help(app: App) -> None:
    await seed_desk(app)
    out = StringIO()
    chat = TerminalChat(app.conversation, "", out=out, staff_id=str(AGENT))
    lines = iter(["/take 77\n", ":quit\n"])
    await chat.run(read_line=lambda: next(lines, ""))
    shown = out.getvalue()
    assert shown.startswith("Staff desk: /desk lists the commands")
    assert "There is no ticket T-000077" in shown and "/tickets" not in shown
