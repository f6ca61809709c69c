"""Forged button data, odd digits, bytes the database cannot store: a polite answer, no crash."""

from __future__ import annotations

import logging

import pytest

from bot.bootstrap import App
from handlers.types import InboundKind
from tests.support.conversation import MEMBER, inbound, press, say
from tests.support.tickets import MANAGER, complain, seed_desk

HUGE = "9" * 25
ODD_IDS = ["²", "①", "٤٢", HUGE, "-1", "0", "", "1e9", "4294967296"]


def _forged_button_data(ticket_id: int) -> list[str]:
    data = []
    for odd in ODD_IDS:
        data += [
            f"ct:view:{odd}", f"ct:reopen:{odd}", f"ct:st:{odd}", f"sv:{odd}:1:abcdef",
            f"sv:1:{odd}:abcdef", f"cp:{odd}", f"xc:{odd}:{odd}", f"xr:{odd}", f"svs:{odd}",
            f"tk:take:{odd}", f"tk:res:{odd}", f"tk:view:{odd}", f"tk:cn:{odd}:x",
            f"prof:{odd}", f"join:{odd}", f"lang:{odd}",
            # the buttons of the features built after the id parser
            f"cl:take:{odd}", f"cl:wn:{odd}", f"pm:{odd}:1", f"pm:1:{odd}",
            f"cmp:v:{odd}", f"cmp:s:{odd}", f"cni:{odd}", f"cst:{odd}",
        ]
    return data + [f"tk:cs:{ticket_id}:{HUGE}", ":", "::::", "x" * 64, "ct", "tk:"]


async def test_forged_button_data_with_odd_ids_gets_a_polite_answer_and_no_traceback(
    any_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_desk(any_app)
    ticket_id = await complain(any_app)
    caplog.set_level(logging.ERROR)
    for data in _forged_button_data(ticket_id):
        for user in (MEMBER, MANAGER):
            replies = await press(any_app, data, user=user)
            assert replies, data
            assert all(r.key != "error.unexpected" for r in replies), (data, user)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_staff_commands_with_odd_ticket_numbers_answer_politely(
    any_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_desk(any_app)
    caplog.set_level(logging.ERROR)
    for command in ("ticket", "reply", "note", "take", "resolve", "close", "escalate"):
        for odd in ODD_IDS:
            replies = await say(any_app, f"/{command} {odd} hello", user=MANAGER)
            assert all(r.key != "error.unexpected" for r in replies), (command, odd)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "text",
    [
        "milk\x00sour",
        b"caf\xe9 was closed".decode("utf-8", "surrogateescape"),
        "\ud800\udfff lone halves",
        "\x1b]0;title\x07 the bread \x1bc was stale",
        "\x00" * 50,
    ],
)
async def test_text_the_database_cannot_store_is_cleaned_at_the_edge_not_apologised_for(
    any_app: App, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    desk = await seed_desk(any_app)
    caplog.set_level(logging.ERROR)
    ticket_id = await complain(any_app, description="first " + text)
    for message in (text, f"/complaint {text}", "/language"):
        replies = await say(any_app, message)
        assert all(r.key != "error.unexpected" for r in replies), message
    replies = await any_app.conversation.handle(
        inbound(InboundKind.PHOTO, "file-1", text=text)
    )
    assert all(r.key != "error.unexpected" for r in replies)
    async with any_app.uow_factory() as uow:
        ticket = await uow.tickets.get(ticket_id)
    assert ticket is not None and ticket.member_id == desk.member.id
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
