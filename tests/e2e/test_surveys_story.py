"""A survey's story over HTTP, on aiogram and on python-telegram-bot alike.

Mei buys at 20:30 in Shanghai. The invitation is due two hours later, at 22:30, inside quiet
hours: the job queues it, the sender holds it, and it arrives at 09:00 the next morning. Mei
taps 2 (twice, impatiently), explains why, and the staff group gets a call-back ticket with her
answer and her comment. Her next purchase, and a campaign wave, do not ask her again within 30
days; Sam pressing Mei's button from his own chat counts for nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.bootstrap import App
from domain.members.model import Member
from domain.shared.clock import FixedClock
from domain.shared.policy import Policy
from domain.surveys.services import invite_segment
from scheduler.jobs.surveys import survey_invitations
from tests.e2e.conftest import (
    MEI,
    MEMBER_NAME,
    SAM,
    deliver_outbox,
    link_chat,
    member_by_phone,
    polling_shop,
    seed_member,
)
from tests.support.jobs import run_as_scheduled
from tests.support.standin import BOT_USERNAME, BotApiStandIn, double_tap, find_output
from tests.support.surveys import add_receipt, answers, every_purchase

SAM_PHONE = "+8613900139000"
STAFF_GROUP = -1009876543210


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A June 2026 local time in Shanghai (UTC+8), as an aware UTC moment."""
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
async def survey_bot(
    standin: BotApiStandIn, tmp_path: object, engine: str, e2e_clock: FixedClock
) -> AsyncIterator[App]:
    """The real app asking after every purchase, with a staff group, polling the stand-in."""
    async with polling_shop(
        standin,
        tmp_path,
        engine,
        e2e_clock,
        _seed_mei_and_sam,
        policy=every_purchase(Policy()),
        staff_chat_id=STAFF_GROUP,
    ) as app:
        yield app


async def _seed_mei_and_sam(app: App) -> None:
    await seed_member(app)
    async with app.uow_factory() as uow:
        await uow.members.add(Member("100002", "Sam", SAM_PHONE, app.clock.now()))
        await uow.commit()


async def test_a_purchase_survey_from_the_till_to_the_staff_group(
    survey_bot: App, standin: BotApiStandIn
) -> None:
    app, t = survey_bot, survey_bot.translator
    clock = app.clock
    assert isinstance(clock, FixedClock)
    standin.group(STAFF_GROUP, "Service desk", forum=False)
    mei = await link_chat(standin, MEI)
    sam = await link_chat(standin, SAM, name="Sam", phone=SAM_PHONE)
    member = await member_by_phone(app)
    assert member.id is not None
    async with app.uow_factory() as uow:
        store = await uow.stores.get_by_code("SH01")
    assert store is not None
    await add_receipt(app, "SH01-0001", member.id, store, shanghai(15, 20, 30))

    clock.set(shanghai(15, 22, 0))  # an hour and a half later: not yet
    assert "0 invited" in await run_as_scheduled(app, survey_invitations)
    clock.set(shanghai(15, 22, 45))  # due at 22:30, but it is night in Shanghai
    assert "1 invited" in await run_as_scheduled(app, survey_invitations)
    await deliver_outbox(app)
    await standin.assert_quiet(MEI)

    clock.set(shanghai(16, 9, 1))  # quiet hours are over
    await deliver_outbox(app)
    (invite,) = await standin.wait_for_messages(MEI, 1)
    assert "People's Square" in invite.text and invite.text.startswith("📝")
    assert [b["text"] for b in invite.inline_buttons] == ["1", "2", "3", "4", "5"]
    two = standin.button_data(invite, "2")

    outputs = await double_tap(standin, mei, invite, two, count=3,
                               done="You gave 2 out of 5", again="already answered")
    ask = find_output(outputs, "do better")

    # Sam, from his own chat, sends Mei's button data: nothing changes.
    standin.press_forged(sam, standin.outputs(SAM)[-1], two.replace(":2:", ":5:"))
    (refused,) = await standin.wait_for_messages(SAM, 1)
    assert refused.text == t("en", "surveys.not_yours")

    standin.send_text(mei, "The fish was not fresh and the queue took 20 minutes")
    saved, sorry = await standin.wait_for_messages(MEI, 2)
    assert saved.text == t("en", "surveys.comment_saved")
    assert sorry.text == t("en", "surveys.sorry_ticket", number="T-000001")
    assert ask.inline_buttons[0]["text"] == t("en", "surveys.skip_button")

    (answer,) = await answers(app)
    assert answer.score == 2 and answer.comment.startswith("The fish")
    assert answer.recovery_ticket_id is not None

    await deliver_outbox(app)
    staff = standin.outputs(STAFF_GROUP)
    card = find_output(staff, "T-000001")
    assert "CSAT" in card.text and "SH01-0001" in card.text and MEMBER_NAME in card.text
    assert find_output(staff, "not fresh")

    # Her next purchase is not asked about, nor is she in a campaign wave, for 30 days.
    await add_receipt(app, "SH01-0002", member.id, store, shanghai(20, 11, 0))
    clock.set(shanghai(20, 14, 0))
    result = await run_as_scheduled(app, survey_invitations)
    assert "0 invited" in result and "1 asked recently" in result
    async with app.uow_factory() as uow:
        wave = await invite_segment(uow, app.policy, [member.id], "nps", clock.now(),
                                    label="june")
        await uow.commit()
    assert wave.invited == 0 and wave.limited == 1
    await deliver_outbox(app)
    await standin.assert_quiet(MEI)


async def test_a_promoter_gets_a_link_naming_the_running_bot(
    survey_bot: App, standin: BotApiStandIn
) -> None:
    app, t = survey_bot, survey_bot.translator
    mei = await link_chat(standin, MEI)
    member = await member_by_phone(app)
    assert member.id is not None
    async with app.uow_factory() as uow:
        wave = await invite_segment(uow, app.policy, [member.id], "nps", app.clock.now(),
                                    label="june")
        await uow.commit()
    assert wave.invited == 1
    await deliver_outbox(app)  # 18:00 in Shanghai: it goes at once
    (invite,) = await standin.wait_for_messages(MEI, 1)
    assert [b["text"] for b in invite.inline_buttons] == [str(n) for n in range(11)]
    standin.press(mei, invite, standin.button_data(invite, "10"))
    scored, ask = await standin.wait_for_messages(MEI, 2)
    assert scored.text == t("en", "surveys.scored", score=10, top=10)
    standin.press(mei, ask, standin.button_data(ask, t("en", "surveys.skip_button")))
    thanks, link = await standin.wait_for_messages(MEI, 2)
    assert thanks.text == t("en", "surveys.thanks_promoter")
    assert f"https://t.me/{BOT_USERNAME}?start=ref_{member.member_no}" in link.text
