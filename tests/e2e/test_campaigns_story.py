"""Campaigns over HTTP, on aiogram and on python-telegram-bot alike.

"Come back" goes out at 06:00 local time in each member's store zone. At that moment it is
18:00 in Shanghai, so the Shanghai members get it at once, each with their own coupon; in New
York it is 06:00, inside quiet hours, so Grace's waits until 09:00 there. The control group
gets nothing (it is measured), nor does the member who sent /stop, nor the one who already had
two offers this week. Nobody gets it twice. A triggered campaign reaches a member who moved to
"at risk", not again ten days later, and again after its 30-day re-entry time. The manager
starts a campaign from Telegram with buttons; an agent is told the command does not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from bot.bootstrap import App
from domain.campaigns.rules import in_control
from domain.coupons.rules import format_code
from domain.shared.clock import FixedClock
from domain.staff.model import Role, StaffMember
from scheduler.jobs.campaigns import campaign_waves
from storage.coupons.tables import coupons
from storage.messaging.tables import outbox
from tests.e2e.conftest import deliver_outbox, polling_shop
from tests.support.campaigns import (
    campaign_toml,
    moves_to_at_risk,
    new_campaign,
    start_and_send,
    started_win_back,
)
from tests.support.coupons import add_member, seed_stores
from tests.support.jobs import run_as_scheduled
from tests.support.standin import BotApiStandIn

MANAGER = 7101
AGENT = 7001
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai, 06:00 in New York


@pytest.fixture
async def campaign_bot(
    standin: BotApiStandIn, tmp_path: object, engine: str, e2e_clock: FixedClock
) -> AsyncIterator[App]:
    """The real app polling the stand-in, with stores in Shanghai and New York."""
    async with polling_shop(standin, tmp_path, engine, e2e_clock) as app:
        yield app


async def _codes(app: App) -> dict[int, str]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(select(coupons.c.member_id, coupons.c.code))
        return {r.member_id: format_code(r.code) for r in rows}


async def test_a_campaign_reaches_exactly_who_it_should_once_with_their_own_coupon(
    campaign_bot: App, standin: BotApiStandIn
) -> None:
    app = campaign_bot
    clock = app.clock
    assert isinstance(clock, FixedClock)
    shop = await seed_stores(app)
    chats: dict[int, int] = {}  # member id -> chat
    for n in range(1, 9):
        standin.user(8000 + n, f"Shopper {n}", language_code="en")
        member = await add_member(app, str(n), store=shop.shanghai, chat=8000 + n, consent=True)
        assert member.id is not None
        chats[member.id] = 8000 + n
    standin.user(8100, "Grace", language_code="en")
    grace = await add_member(app, "100", store=shop.new_york, chat=8100, consent=True)
    standin.user(8200, "Stopped", language_code="en")
    stopped = await add_member(
        app, "200", store=shop.shanghai, chat=8200, consent=True, opted_out=True
    )
    standin.user(8300, "Busy", language_code="en")
    capped = await add_member(app, "300", store=shop.shanghai, chat=8300, consent=True)
    assert grace.id and stopped.id and capped.id
    async with app.engine.begin() as conn:  # two offers this week already: the cap is 2
        for n in range(2):
            await conn.execute(
                insert(outbox).values(
                    dedupe_key=f"earlier:{n}",
                    member_id=capped.id,
                    chat_id="8300",
                    kind="marketing",
                    message_key="campaigns.offer",
                    params={"body": "x"},
                    buttons=[],
                    status="sent",
                    next_attempt_at=NOW - timedelta(days=n + 1),
                    created_at=NOW - timedelta(days=n + 1),
                    sent_at=NOW - timedelta(days=n + 1),
                )
            )
    campaign = await new_campaign(
        app,
        campaign_toml(
            extra="control_share = 0.3", schedule='type = "once"\nat = "2026-06-15 06:00"'
        ),
    )
    assert campaign.id is not None
    await start_and_send(app, campaign)
    await deliver_outbox(app)

    codes = await _codes(app)
    control = {m for m in chats if in_control(campaign.id, m, 0.3)}
    treated = set(chats) - control
    assert treated and control  # the seeded hash splits these eight both ways
    for member_id, chat in chats.items():
        received = standin.outputs(chat)
        if member_id in control:
            assert received == []
            continue
        (offer,) = received
        assert codes[member_id] in offer.text and "Shanghai" in offer.text
        assert any("Show my coupon" in b["text"] for b in offer.inline_buttons)
    assert standin.outputs(8200) == [] and standin.outputs(8300) == []
    assert set(codes) == treated | {grace.id}  # every treated member has their own code
    assert standin.outputs(8100) == []  # 06:00 in New York: quiet hours

    clock.set(NOW + timedelta(hours=3, minutes=1))  # 09:01 in New York
    await deliver_outbox(app)
    (offer,) = standin.outputs(8100)
    assert codes[grace.id] in offer.text
    await deliver_outbox(app)  # nothing is sent twice
    assert all(len(standin.outputs(c)) == (0 if m in control else 1) for m, c in chats.items())

    # Grace asks for her coupon from the offer, then says she is not interested.
    person = standin.user(8100, "Grace", language_code="en")
    data = BotApiStandIn.button_data(offer, "Show my coupon")
    standin.press(person, offer, data)
    _offer, shown = await standin.wait_for_messages(8100, 2)  # the offer, then the coupon
    assert codes[grace.id] in shown.text
    standin.press(person, offer, BotApiStandIn.button_data(offer, "Not interested"))
    (thanks,) = await standin.wait_for_messages(8100, 1)
    assert "Thank you for telling us" in thanks.text


async def test_a_triggered_campaign_comes_again_only_after_its_re_entry_time(
    campaign_bot: App, standin: BotApiStandIn
) -> None:
    app = campaign_bot
    standin.user(8001, "Mei", language_code="en")
    member, _ = await started_win_back(app, 8001, "We miss you", send_time="10:00")

    async def moved(days_later: int) -> int:
        await moves_to_at_risk(app, member.id, days_later)
        await deliver_outbox(app)
        return len(standin.outputs(8001))

    assert await moved(0) == 1
    assert await moved(10) == 1
    assert await moved(21) == 2


async def test_a_manager_starts_a_campaign_in_telegram_and_an_agent_cannot(
    campaign_bot: App, standin: BotApiStandIn
) -> None:
    app = campaign_bot
    shop = await seed_stores(app)
    standin.user(8001, "Mei", language_code="en")
    await add_member(app, "1", store=shop.shanghai, chat=8001, consent=True)
    async with app.uow_factory() as uow:
        await uow.staff.save(StaffMember(str(MANAGER), Role.MANAGER, "Chen"))
        await uow.staff.save(StaffMember(str(AGENT), Role.AGENT, "Wang"))
        await uow.commit()
    campaign = await new_campaign(app, campaign_toml(extra="control_share = 0"))

    agent = standin.user(AGENT, "Wang", language_code="en")
    standin.send_text(agent, "/campaigns")
    (refused,) = await standin.wait_for_messages(AGENT, 1)
    assert "I don't know the command /campaigns" in refused.text

    manager = standin.user(MANAGER, "Chen", language_code="en")
    standin.send_text(manager, "/campaigns")
    (listed,) = await standin.wait_for_messages(MANAGER, 1)
    assert "Come back" in listed.text
    standin.press(manager, listed, f"cmp:v:{campaign.id}")
    (preview,) = await standin.wait_for_messages(MANAGER, 1)
    assert "will get it: 1" in preview.text
    standin.press(manager, preview, f"cmp:s:{campaign.id}")
    (started,) = await standin.wait_for_messages(MANAGER, 1)
    assert "is running" in started.text

    assert "1 queued" in await run_as_scheduled(app, campaign_waves)
    await deliver_outbox(app)
    (offer,) = standin.outputs(8001)
    assert "Hi Member 1" in offer.text
