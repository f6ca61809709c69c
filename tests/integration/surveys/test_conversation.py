"""Answering a survey in the chat: a score, a comment, thanks; taps that must change nothing; a
detractor's call-back ticket and a promoter's link."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.bootstrap import App
from domain.surveys.services import invite_segment
from domain.tickets.model import Desk
from scheduler.jobs.surveys import invite_after_purchases
from storage.tickets.tables import tickets
from tests.support.coupons import add_member, outbox_rows, seed_stores
from tests.support.surveys import (
    add_receipt,
    answers,
    every_purchase,
    hours,
    invitations,
    press,
    use_policy,
    write,
)

MEI, SAM, STRANGER = 501, 502, 999
STAFF_GROUP = "-1001234567890"


async def _invited(app: App, survey: str = "purchase") -> tuple[str, list[list[dict[str, str]]]]:
    """Mei (member 1) invited after a purchase, or to the NPS survey; (token, buttons)."""
    use_policy(app, every_purchase(app.policy))
    shop = await seed_stores(app)
    mei = await add_member(app, "1", store=shop.shanghai, chat=MEI)
    await add_member(app, "2", store=shop.shanghai, chat=SAM)
    assert mei.id is not None
    if survey == "purchase":
        await add_receipt(app, "R1", mei.id, shop.shanghai, app.clock.now() - hours(3))
        await invite_after_purchases(app.uow_factory, app.policy, app.clock.now())
    else:
        async with app.uow_factory() as uow:
            await invite_segment(uow, app.policy, [mei.id], "nps", app.clock.now(), label="w")
            await uow.commit()
    (row,) = await outbox_rows(app)
    (invitation,) = await invitations(app)
    return invitation.token, row.buttons


async def test_a_score_then_a_comment_then_thanks(any_app: App) -> None:
    app = any_app
    _token, rows = await _invited(app)
    four = rows[0][3]["data"]
    scored, ask = await press(app, four, user=MEI)
    assert scored.key == "surveys.scored" and scored.edit and "4 out of 5" in scored.text
    assert ask.key == "surveys.ask_comment" and ask.buttons[0][0].data.startswith("svk:")
    saved, thanks = await write(app, "Friendly cashier,   quick queue", user=MEI)
    assert (saved.key, thanks.key) == ("surveys.comment_saved", "surveys.thanks")
    (answer,) = await answers(app)
    assert answer.score == 4 and answer.kind == "csat" and answer.trigger == "receipt"
    assert answer.comment == "Friendly cashier, quick queue" and answer.recovery_ticket_id is None
    (invitation,) = await invitations(app)
    assert invitation.status == "answered"

    # The next text is ordinary chat again, and a second tap changes nothing.
    (points,) = await write(app, "/points", user=MEI)
    assert points.key == "points.summary"
    (again,) = await press(app, rows[0][0]["data"], user=MEI)
    assert again.key == "surveys.already"
    (answer,) = await answers(app)
    assert answer.score == 4


async def test_skip_leaves_no_comment(any_app: App) -> None:
    app = any_app
    _token, rows = await _invited(app)
    _scored, ask = await press(app, rows[0][2]["data"], user=MEI)
    (thanks,) = await press(app, ask.buttons[0][0].data, user=MEI)
    assert thanks.key == "surveys.thanks"
    (stale,) = await press(app, ask.buttons[0][0].data, user=MEI)
    assert stale.key == "surveys.already"
    (answer,) = await answers(app)
    assert answer.score == 3 and answer.comment is None


async def test_taps_that_are_not_the_members_change_nothing(any_app: App) -> None:
    app = any_app
    token, rows = await _invited(app)
    five = rows[0][4]["data"]
    (sam,) = await press(app, five, user=SAM)  # another member, with Mei's button data
    assert sam.key == "surveys.not_yours"
    (stranger,) = await press(app, five, user=STRANGER)  # nobody we know
    assert stranger.key == "surveys.not_yours"
    invitation_id = five.split(":")[1]
    forged_check = "000000" if token != "000000" else "111111"
    (forged,) = await press(app, f"sv:{invitation_id}:5:{forged_check}", user=MEI)
    assert forged.key == "surveys.not_yours"
    (off_scale,) = await press(app, f"sv:{invitation_id}:9:{token}", user=MEI)
    assert off_scale.key == "surveys.not_yours"
    (nothing,) = await press(app, f"sv:{int(invitation_id) + 7}:5:{token}", user=MEI)
    assert nothing.key == "surveys.unknown"
    (garbage,) = await press(app, "sv:drop table", user=MEI)
    assert garbage.key == "surveys.unknown"
    assert await answers(app) == []
    (invitation,) = await invitations(app)
    assert invitation.status == "invited"


async def test_an_expired_survey_is_closed(any_app: App) -> None:
    app = any_app
    _token, rows = await _invited(app)
    app.clock.advance(timedelta(days=7, hours=1))
    (closed,) = await press(app, rows[0][4]["data"], user=MEI)
    assert closed.key == "surveys.expired" and closed.edit
    assert await answers(app) == []


async def test_a_detractor_gets_a_call_back_ticket_with_the_comment(any_app: App) -> None:
    app = any_app
    app.conversation.deps.desk = Desk(STAFF_GROUP)
    _token, rows = await _invited(app)
    scored, _ask = await press(app, rows[0][1]["data"], user=MEI)  # 2 out of 5
    assert scored.key == "surveys.scored"
    async with app.engine.connect() as conn:
        (ticket,) = list(await conn.execute(select(tickets)))
    assert list(ticket.tags) == ["survey"] and ticket.status == "open"
    assert "CSAT" in ticket.description and "receipt R1" in ticket.description
    card = [r for r in await outbox_rows(app) if r.chat_id == STAFF_GROUP]
    assert [r.message_key for r in card] == ["desk.card"]

    saved, sorry = await write(app, "The bread was stale and nobody cared", user=MEI)
    assert saved.key == "surveys.comment_saved"
    assert sorry.key == "surveys.sorry_ticket" and "T-000001" in sorry.text
    relayed = [r for r in await outbox_rows(app) if r.chat_id == STAFF_GROUP]
    assert [r.message_key for r in relayed] == ["desk.card", "desk.member_wrote"]
    assert "stale" in relayed[1].params["text"]
    (answer,) = await answers(app)
    assert answer.recovery_ticket_id == ticket.id


async def test_a_promoter_is_thanked_with_a_link_to_share(any_app: App) -> None:
    app = any_app
    app.conversation.deps.bot_username = "mart_bot"
    _token, rows = await _invited(app, survey="nps")
    assert [b["text"] for row in rows for b in row] == [str(n) for n in range(11)]
    _scored, ask = await press(app, rows[1][4]["data"], user=MEI)  # 10
    thanks, link = await press(app, ask.buttons[0][0].data, user=MEI)
    assert thanks.key == "surveys.thanks_promoter"
    assert "https://t.me/mart_bot?start=ref_1" in link.text
    (answer,) = await answers(app)
    assert answer.kind == "nps" and answer.score == 10 and answer.trigger == "segment"
