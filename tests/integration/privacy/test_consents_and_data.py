"""A member's privacy in the chat and behind it: consent per purpose with its log, surveys that
respect it, a copy of one's data, deleting the account after a cooling-off period, retention."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.bootstrap import App
from domain.privacy.model import ConsentSource, Purpose
from domain.surveys.services import invite_segment
from scheduler.jobs.privacy import run_privacy
from storage.members.tables import chat_users, members
from storage.tickets.tables import audit_log
from tests.support.conversation import button, press, say
from tests.support.coupons import add_member, seed_stores
from tests.support.surveys import invitations

CHAT = 501


async def test_turning_surveys_off_in_privacy_keeps_the_member_out_of_surveys(
    any_app: App,
) -> None:
    app = any_app
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=CHAT)
    other = await add_member(app, "2", store=shop.shanghai, chat=502)
    assert member.id is not None and other.id is not None

    page = await say(app, "/privacy", user=CHAT)
    assert page[0].key == "privacy.menu"
    assert "Satisfaction surveys: on" in page[0].text
    off = button(page, "pv:t:surveys:0")
    page = await press(app, off, user=CHAT)
    assert "Satisfaction surveys: off" in page[-1].text and page[-1].edit
    button(page, "pv:t:surveys:1")  # as easy to turn back on

    async with app.uow_factory() as uow:
        allowed = await uow.consents.allowed([member.id, other.id], Purpose.SURVEYS)
        log = await uow.consents.log(member.id)
        run = await invite_segment(uow, app.policy, [member.id, other.id], "nps",
                                   app.clock.now(), label="spring")
        await uow.commit()
    assert allowed == {other.id}
    assert [(c.purpose, c.granted, c.source) for c in log] == [
        (Purpose.SURVEYS, False, ConsentSource.CHAT)
    ]
    assert log[0].wording_version == app.policy.privacy.consent_wording_version
    assert run.invited == 1
    assert [row.member_id for row in await invitations(app)] == [other.id]


async def test_stop_and_privacy_agree_on_marketing_and_both_are_logged(app: App) -> None:
    member = await add_member(app, "1", chat=CHAT, consent=True)
    assert member.id is not None
    await say(app, "/stop", user=CHAT)
    page = await say(app, "/privacy", user=CHAT)
    assert "Offers and news: off" in page[0].text
    await press(app, button(page, "pv:t:marketing:1"), user=CHAT)
    async with app.uow_factory() as uow:
        fresh = await uow.members.get(member.id)
        log = await uow.consents.log(member.id)
        allowed = await uow.consents.allowed([member.id], Purpose.MARKETING)
    assert fresh is not None and fresh.marketing_consent and fresh.opted_out_at is None
    assert allowed == {member.id}
    assert [(c.granted, c.source) for c in log] == [
        (False, ConsentSource.STOP), (True, ConsentSource.CHAT)
    ]


async def test_send_me_my_data_gives_a_json_file_and_a_readable_summary(app: App) -> None:
    member = await add_member(app, "7", chat=CHAT, points=120)
    page = await say(app, "/privacy", user=CHAT)
    held = await press(app, button(page, "pv:sum"), user=CHAT)
    assert "Member 7" in held[0].text and "Points entries: 1" in held[0].text

    sent = await press(app, button(page, "pv:exp"), user=CHAT)
    json_file, text_file = (m.document for m in sent)
    assert json_file is not None and text_file is not None
    assert json_file.filename.endswith(".json") and text_file.filename.endswith(".txt")
    document = json.loads(json_file.data)
    assert document["tables"]["members"][0]["phone"] == member.phone
    assert document["tables"]["points_ledger"][0]["points"] == 120
    assert "token" not in json.dumps(document["tables"].get("survey_invitations", []))
    assert "Member 7" in text_file.data.decode()
    async with app.engine.connect() as conn:
        actions = list(await conn.scalars(select(audit_log.c.action)))
    assert actions == ["member.export"]


async def test_deleting_the_account_waits_for_the_cooling_off_and_can_be_cancelled(
    app: App,
) -> None:
    member = await add_member(app, "8", chat=CHAT, points=50)
    assert member.id is not None
    page = await say(app, "/privacy", user=CHAT)
    warning = await press(app, button(page, "pv:del"), user=CHAT)
    assert "50 points" in warning[0].text and "7 days" in warning[0].text
    await press(app, button(warning, "pv:delok"), user=CHAT)

    page = await say(app, "/privacy", user=CHAT)
    assert "will be deleted on 2026-06-22" in page[0].text
    cancelled = await press(app, button(page, "pv:undo"), user=CHAT)
    assert cancelled[0].key == "privacy.delete_cancelled"

    app.clock.advance(timedelta(days=8))  # type: ignore[attr-defined]
    run = await run_privacy(app.uow_factory, app.policy, app.clock.now())
    assert run.erased_members == 0

    page = await say(app, "/privacy", user=CHAT)
    warning = await press(app, button(page, "pv:del"), user=CHAT)
    await press(app, button(warning, "pv:delok"), user=CHAT)
    app.clock.advance(timedelta(days=6))  # type: ignore[attr-defined]
    assert (await run_privacy(app.uow_factory, app.policy, app.clock.now())).erased_members == 0
    app.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    run = await run_privacy(app.uow_factory, app.policy, app.clock.now())
    assert run.erased_members == 1 and "accounts deleted 1" in run.summary()

    async with app.engine.connect() as conn:
        row = (await conn.execute(select(members).where(members.c.id == member.id))).one()
        chats = list(await conn.execute(select(chat_users)))
    assert row.name == "[erased member]" and row.phone is None and not chats
    async with app.uow_factory() as uow:
        assert await uow.ledger.balance(member.id) == 50  # the books still add up
        assert await uow.consents.allowed([member.id], Purpose.PROFILING) == set()
    # The erased member's Telegram account writing again is a stranger.
    again = await say(app, "/privacy", user=CHAT)
    assert again[0].key == "link.required"
