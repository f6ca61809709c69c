"""What staff see of segments: the line on /member and ticket cards, and the weekly digest."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.messaging.rules import localise_params
from scheduler.jobs.segments import segments_weekly_digest
from tests.support.conversation import say
from tests.support.coupons import outbox_rows
from tests.support.jobs import run_as_scheduled
from tests.support.segments import refresh, shop
from tests.support.tickets import AGENT, STAFF_GROUP, clock, complain, seed_desk


async def test_an_agent_sees_segment_lifecycle_and_p_alive_in_member_and_on_the_ticket_card(
    app: App,
) -> None:
    desk = await seed_desk(app)
    member_id = desk.member.id
    assert member_id is not None
    for days in (60, 45, 30, 15, 2):
        await shop(app, member_id, desk.shop.shanghai, days, "200.00")
    await refresh(app)

    replies = await say(app, "/member 1", user=AGENT)
    text = "\n".join(r.text for r in replies)
    assert "Segment: " in text and "active" in text

    await complain(app)
    (card,) = [r for r in await outbox_rows(app) if r.message_key == "desk.card"]
    shown = app.translator("zh", card.message_key, **localise_params(card.params, "zh"))
    assert "客户分群：" in shown and "活跃" in shown


async def test_a_member_never_scored_shows_a_dash_rather_than_a_guess(app: App) -> None:
    await seed_desk(app)
    replies = await say(app, "/member 2", user=AGENT)
    assert "Segment: -" in "\n".join(r.text for r in replies)


async def test_the_staff_group_gets_the_weeks_segment_moves_once(app: App) -> None:
    desk = await seed_desk(app)
    assert desk.member.id is not None and desk.other.id is not None
    for member_id in (desk.member.id, desk.other.id):
        for days in (40, 30, 20, 10):
            await shop(app, member_id, desk.shop.shanghai, days, "50.00")
    await refresh(app)
    clock(app).advance(timedelta(days=3))
    await shop(app, desk.member.id, desk.shop.shanghai, 0, "900.00")  # a big shop: moves up
    await refresh(app)
    clock(app).advance(timedelta(days=2))

    first = await run_as_scheduled(app, segments_weekly_digest)
    again = await run_as_scheduled(app, segments_weekly_digest)
    assert "queued" in first and "before" in again
    (row,) = [r for r in await outbox_rows(app) if r.dedupe_key.startswith("segments:digest")]
    assert row.chat_id == str(STAFF_GROUP) and row.message_key == "segments.digest"
    for lang in ("en", "zh"):
        text = app.translator(lang, row.message_key, **localise_params(row.params, lang))
        assert "→" in text and "{" not in text
