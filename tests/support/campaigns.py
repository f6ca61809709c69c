"""Builders for the campaign tests: a campaign from TOML text, segment rows, recipients."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from bot.bootstrap import App
from domain.campaigns.model import Campaign, WaveRun
from domain.campaigns.rules import spec_from_mapping
from domain.campaigns.services import create_campaign, start_campaign
from domain.members.model import Member
from domain.segments.events import LifecycleChanged
from domain.segments.model import Lifecycle
from domain.shared.clock import FixedClock
from scheduler.jobs.campaigns import send_wave
from storage.campaigns.tables import campaign_recipients
from storage.messaging.tables import outbox
from storage.segments.tables import member_segments, member_stats
from tests.support.coupons import add_member, seed_stores

ONCE = """
name = "{name}"
priority = {priority}
{extra}
[audience]
{audience}
[message]
en = "Hi {{name}}, your code {{coupon_code}} is valid until {{coupon_expires}} at {{store}}."
zh = "{{name}}，您的优惠码 {{coupon_code}}，{{coupon_expires}} 前在{{store}}使用。"
[coupon]
template = "ten_off"
[schedule]
{schedule}
"""


def campaign_toml(
    name: str = "Come back",
    *,
    priority: int = 50,
    audience: str = "",
    schedule: str = 'type = "once"\nat = "2026-06-15 10:00"',
    extra: str = "",
) -> str:
    return ONCE.format(
        name=name, priority=priority, audience=audience, schedule=schedule, extra=extra
    )


async def new_campaign(app: App, text: str) -> Campaign:
    spec = spec_from_mapping(tomllib.loads(text), app.policy)
    async with app.uow_factory() as uow:
        campaign = await create_campaign(uow, spec, "cli", app.clock.now())
        await uow.commit()
    return campaign


async def start_and_send(app: App, campaign: Campaign, *, batch: int = 2000) -> WaveRun | None:
    assert campaign.id is not None
    async with app.uow_factory() as uow:
        await start_campaign(uow, campaign.id, "cli", app.clock.now())
        await uow.commit()
    return await send_wave(app.uow_factory, app.policy, campaign.id, app.clock.now(), batch=batch)


async def set_segment(
    app: App,
    member_id: int,
    *,
    lifecycle: str = "active",
    segment: str | None = None,
    p_alive: float | None = None,
    last_purchase_days: int | None = None,
    first_purchase_days: int | None = None,
) -> None:
    """The member's row as the nightly refresh would leave it (and their purchase statistics)."""
    now = app.clock.now()
    async with app.engine.begin() as conn:
        await conn.execute(
            insert(member_segments).values(
                member_id=member_id,
                lifecycle=lifecycle,
                segment=segment,
                p_alive=p_alive,
                refreshed_at=now,
            )
        )
        if last_purchase_days is not None or first_purchase_days is not None:
            last = now - timedelta(days=last_purchase_days or 0)
            first = now - timedelta(days=first_purchase_days or last_purchase_days or 0)
            await conn.execute(
                insert(member_stats).values(
                    member_id=member_id,
                    first_purchase_at=first,
                    last_purchase_at=last,
                    purchases=1,
                    spend_cents=1000,
                    updated_at=now,
                )
            )


async def at_risk_member(app: App, chat: int) -> Member:
    """A consenting member of the Shanghai store, linked to `chat`, whom the nightly refresh
    left at risk (the audience of a "moved to at risk" campaign)."""
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=chat, consent=True)
    assert member.id is not None
    await set_segment(app, member.id, lifecycle="at_risk")
    return member


async def started_win_back(
    app: App, chat: int, name: str, *, send_time: str | None = None
) -> tuple[Member, int]:
    """An at-risk member linked to `chat` (see `at_risk_member`) and the id of a started
    campaign with no control group, triggered when a member moves to at risk and for the same
    member again only 30 days later (with `send_time`, sent at that local time)."""
    member = await at_risk_member(app, chat)
    timing = f'send_time = "{send_time}"\n' if send_time else ""
    campaign = await new_campaign(
        app,
        campaign_toml(
            name,
            extra="control_share = 0",
            schedule=f'type = "triggered"\nevent = "moved_to_at_risk"\n{timing}reentry_days = 30',
        ),
    )
    await start_and_send(app, campaign)
    assert campaign.id is not None
    return member, campaign.id


async def moves_to_at_risk(app: App, member_id: int | None, days_later: int) -> None:
    """`days_later` on the app's fixed clock, the nightly refresh moves the member from active
    to at risk (the event a triggered campaign listens for)."""
    clock = app.clock
    assert isinstance(clock, FixedClock) and member_id is not None
    clock.set(clock.now() + timedelta(days=days_later))
    async with app.uow_factory() as uow:
        await uow.record(
            LifecycleChanged(
                clock.now(), member_id, Lifecycle.ACTIVE, Lifecycle.AT_RISK, False, True
            )
        )
        await uow.commit()


async def recipients(app: App, campaign_id: int | None = None) -> list[Any]:
    query = select(campaign_recipients).order_by(campaign_recipients.c.id)
    if campaign_id is not None:
        query = query.where(campaign_recipients.c.campaign_id == campaign_id)
    async with app.engine.connect() as conn:
        return list(await conn.execute(query))


async def campaign_outbox(app: App, campaign_id: int) -> list[Any]:
    async with app.engine.connect() as conn:
        return list(
            await conn.execute(
                select(outbox)
                .where(outbox.c.dedupe_key.like(f"campaign:{campaign_id}:%"))
                .order_by(outbox.c.id)
            )
        )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
