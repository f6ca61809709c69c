"""A campaign's wave in the database (SQLite and PostgreSQL): who is queued, held back or
skipped, each member once with their own coupon; same-day priority; re-entry; pausing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot.bootstrap import App
from domain.campaigns.model import (
    HIGHER_PRIORITY,
    NO_CONSENT,
    OPTED_OUT,
    UNREACHABLE,
    CampaignError,
)
from domain.campaigns.rules import in_control, in_global_holdout
from domain.campaigns.services import pause_campaign, preview_campaign, start_campaign
from domain.shared.clock import FixedClock
from scheduler.jobs.campaigns import send_wave
from storage.coupons.tables import coupons
from storage.messaging.tables import outbox
from tests.support.campaigns import (
    campaign_outbox,
    campaign_toml,
    moves_to_at_risk,
    new_campaign,
    recipients,
    set_segment,
    start_and_send,
    started_win_back,
)
from tests.support.coupons import add_member, give_points, seed_stores
from tests.support.surveys import use_policy

SHARE = "control_share = 0.2"


async def _crowd(app: App, count: int = 30) -> list[int]:
    shop = await seed_stores(app)
    ids = []
    for n in range(1, count + 1):
        store = shop.shanghai if n % 2 else shop.new_york
        member = await add_member(app, str(n), store=store, chat=1000 + n, consent=True)
        assert member.id is not None
        ids.append(member.id)
    return ids


async def test_a_wave_reaches_each_consenting_reachable_member_once_with_their_own_coupon(
    any_app: App,
) -> None:
    app = any_app
    ids = await _crowd(app)
    await add_member(app, "901", chat=901, consent=False)
    await add_member(app, "902", chat=902, consent=True, opted_out=True)
    await add_member(app, "903", consent=True)  # never linked a chat
    campaign = await new_campaign(app, campaign_toml(extra=SHARE, audience="consent = false"))
    assert campaign.id is not None
    run = await start_and_send(app, campaign, batch=7)  # several batches, one wave
    assert run is not None
    control = {m for m in ids if in_control(campaign.id, m, 0.2)}
    assert run.matched == 33
    assert run.skipped == {NO_CONSENT: 1, OPTED_OUT: 1, UNREACHABLE: 1}
    assert run.control == len(control) and run.queued == 30 - len(control)

    rows = await recipients(app, campaign.id)
    assert len(rows) == 33 and len({r.member_id for r in rows}) == 33
    treated = {r.member_id for r in rows if r.cohort == "treated"}
    assert treated == set(ids) - control
    sent = await campaign_outbox(app, campaign.id)
    assert sorted(r.member_id for r in sent) == sorted(treated)
    assert {r.kind for r in sent} == {"marketing"}
    async with app.engine.connect() as conn:
        issued = list(
            await conn.execute(
                select(coupons).where(coupons.c.source == f"campaign:{campaign.id}")
            )
        )
    assert sorted(c.member_id for c in issued) == sorted(treated)
    assert len({c.code for c in issued}) == len(issued)
    code_of = {c.member_id: c.code for c in issued}
    for row in sent:
        body = row.params["body"]
        assert (
            code_of[row.member_id][:4] in body["en"] and code_of[row.member_id][:4] in body["zh"]
        )
        assert "cp:" in str(row.buttons)

    # A rerun of the job queues nothing more: the one-off wave is done.
    assert await send_wave(app.uow_factory, app.policy, campaign.id, app.clock.now()) is None
    assert len(await campaign_outbox(app, campaign.id)) == len(treated)


async def test_the_preview_counts_the_funnel_rule_by_rule(any_app: App) -> None:
    app = any_app
    ids = await _crowd(app, 10)
    await add_member(app, "901", chat=901, consent=False)
    await add_member(app, "903", consent=True)
    campaign = await new_campaign(app, campaign_toml(extra=SHARE, audience="consent = false"))
    assert campaign.id is not None
    async with app.uow_factory() as uow:
        preview = await preview_campaign(uow, app.policy, campaign.id, app.clock.now())
    f = preview.funnel
    control = sum(in_control(campaign.id, m, 0.2) for m in ids)
    assert (f.matched, f.consent, f.not_stopped, f.reachable, f.under_cap) == (12, 11, 11, 10, 10)
    assert f.control == control and f.will_get == 10 - control
    assert "Member" in preview.samples["en"] and "优惠码" in preview.samples["zh"]


async def test_two_campaigns_the_same_day_only_the_higher_priority_is_sent(any_app: App) -> None:
    app = any_app
    await _crowd(app, 6)
    low = await new_campaign(app, campaign_toml("Low", priority=10, extra="control_share = 0"))
    high = await new_campaign(app, campaign_toml("High", priority=90, extra="control_share = 0"))
    lower = await new_campaign(app, campaign_toml("Lower", priority=5, extra="control_share = 0"))
    assert low.id and high.id and lower.id
    await start_and_send(app, low)
    await start_and_send(app, high)
    run = await start_and_send(app, lower)
    assert run is not None and run.skipped == {HIGHER_PRIORITY: 6}
    assert {r.reason for r in await recipients(app, low.id)} == {HIGHER_PRIORITY}
    assert {r.status for r in await campaign_outbox(app, low.id)} == {"skipped"}
    assert {r.status for r in await campaign_outbox(app, high.id)} == {"pending"}
    assert await campaign_outbox(app, lower.id) == []


async def test_a_triggered_campaign_follows_its_re_entry_rule(any_app: App) -> None:
    app = any_app
    member, campaign_id = await started_win_back(app, 501, "At risk")

    async def moved(days_later: int) -> int:
        await moves_to_at_risk(app, member.id, days_later)
        return len(await campaign_outbox(app, campaign_id))

    assert await moved(0) == 1
    assert await moved(10) == 1  # within 30 days: not again
    assert await moved(21) == 2  # 31 days after the first: again, with a new coupon
    async with app.engine.connect() as conn:
        held = list(await conn.execute(select(coupons).where(coupons.c.member_id == member.id)))
    assert len(held) == 2


async def test_pausing_withdraws_what_is_not_yet_sent_and_only_a_draft_starts(
    any_app: App,
) -> None:
    app = any_app
    await _crowd(app, 3)
    campaign = await new_campaign(app, campaign_toml(extra="control_share = 0"))
    assert campaign.id is not None
    await start_and_send(app, campaign)
    async with app.uow_factory() as uow:
        with pytest.raises(CampaignError, match="only a draft"):
            await start_campaign(uow, campaign.id, "cli", app.clock.now())
    async with app.uow_factory() as uow:
        await uow.campaigns.claim_wave(campaign.id, None, app.clock.now())
        found = await uow.campaigns.get(campaign.id)
        assert found is not None
    # A one-off campaign finishes after its wave; a running recurring one can be paused.
    recurring = await new_campaign(
        app,
        campaign_toml(
            "Weekly",
            extra="control_share = 0",
            schedule='type = "recurring"\ncron = "* * * * *"\nreentry_days = 0',
        ),
    )
    assert recurring.id is not None
    await start_and_send(app, recurring)
    async with app.uow_factory() as uow:
        await pause_campaign(uow, recurring.id, "cli", app.clock.now())
        await uow.commit()
    statuses = {r.status for r in await campaign_outbox(app, recurring.id)}
    assert statuses in ({"skipped"}, set())


async def test_audience_filters_pick_exactly_the_members_asked_for(any_app: App) -> None:
    app = any_app
    shop = await seed_stores(app)
    picked = await add_member(app, "1", store=shop.shanghai, chat=501, consent=True, points=500)
    wrong_store = await add_member(
        app, "2", store=shop.new_york, chat=502, consent=True, points=500
    )
    few_points = await add_member(app, "3", store=shop.shanghai, chat=503, consent=True, points=10)
    too_alive = await add_member(app, "4", store=shop.shanghai, chat=504, consent=True, points=500)
    recent = await add_member(app, "5", store=shop.shanghai, chat=505, consent=True, points=500)
    for m, p_alive, days in (
        (picked, 0.3, 60),
        (wrong_store, 0.3, 60),
        (few_points, 0.3, 60),
        (too_alive, 0.9, 60),
        (recent, 0.3, 3),
    ):
        assert m.id is not None
        await set_segment(
            app,
            m.id,
            lifecycle="at_risk",
            segment="at_risk",
            p_alive=p_alive,
            last_purchase_days=days,
        )
    campaign = await new_campaign(
        app,
        campaign_toml(
            extra="control_share = 0",
            audience='segments = ["at_risk"]\nlifecycle = ["at_risk"]\nstores = ["SH01"]\n'
            'points = [100, ""]\np_alive = ["", 0.5]\ndays_since_last_purchase = [30, 90]',
        ),
    )
    run = await start_and_send(app, campaign)
    assert run is not None and run.matched == 1
    assert [r.member_id for r in await recipients(app)] == [picked.id]


async def test_the_global_hold_out_gets_no_marketing_and_is_recorded_as_would_have_been_sent(
    app: App,
) -> None:
    policy = replace(app.policy, campaigns=replace(app.policy.campaigns, global_holdout_share=0.5))
    use_policy(app, policy)
    ids = await _crowd(app, 20)
    campaign = await new_campaign(app, campaign_toml(extra="control_share = 0"))
    run = await start_and_send(app, campaign)
    held = {m for m in ids if in_global_holdout(m, 0.5)}
    assert run is not None and run.holdout == len(held) and 0 < len(held) < 20
    rows = await recipients(app, campaign.id)
    assert {r.member_id for r in rows if r.cohort == "holdout"} == held
    assert not {r.member_id for r in await campaign_outbox(app, campaign.id or 0)} & held


async def test_an_offer_already_delivered_keeps_the_day_against_a_higher_priority(
    app: App,
) -> None:
    await _crowd(app, 2)
    low = await new_campaign(app, campaign_toml("Low", priority=10, extra="control_share = 0"))
    await start_and_send(app, low)
    async with app.engine.begin() as conn:  # the sender delivered the low one's messages
        await conn.execute(update(outbox).values(status="sent", sent_at=app.clock.now()))
    high = await new_campaign(app, campaign_toml("High", priority=90, extra="control_share = 0"))
    run = await start_and_send(app, high)
    assert run is not None and run.skipped == {HIGHER_PRIORITY: 2} and run.queued == 0
    assert {r.cohort for r in await recipients(app, low.id)} == {"treated"}


async def test_daily_triggers_pick_first_purchases_n_days_ago_and_points_about_to_expire(
    app: App,
) -> None:
    shop = await seed_stores(app)
    made = {}
    for no, first_days in (("1", 8), ("2", 20), ("3", 3)):
        m = await add_member(app, no, store=shop.shanghai, chat=600 + int(no), consent=True)
        assert m.id is not None
        await set_segment(app, m.id, first_purchase_days=first_days, last_purchase_days=1)
        made[no] = m.id
    week = await new_campaign(
        app,
        campaign_toml(
            "A week after",
            extra="control_share = 0",
            schedule='type = "triggered"\nevent = "days_after_first_purchase"\ndays = 7',
        ),
    )
    run = await start_and_send(app, week)
    assert run is not None and run.queued == 1
    assert [r.member_id for r in await recipients(app, week.id)] == [made["1"]]
    # The next run the same day sends nothing more; the next day's wave skips member 1 (once).
    assert await send_wave(app.uow_factory, app.policy, week.id or 0, app.clock.now()) is None

    expiring = await add_member(app, "4", store=shop.shanghai, chat=604, consent=True)
    lasting = await add_member(app, "5", store=shop.shanghai, chat=605, consent=True, points=80)
    assert expiring.id is not None and lasting.id is not None
    await give_points(app, expiring.id, 80, "seed:expiring", age_days=300, expires_in_days=10)
    points = await new_campaign(
        app,
        campaign_toml(
            "Use your points",
            priority=60,
            extra="control_share = 0",
            schedule='type = "triggered"\nevent = "points_expiring"\ndays = 14',
        ),
    )
    await start_and_send(app, points)
    assert [r.member_id for r in await recipients(app, points.id)] == [expiring.id]


async def test_a_recurring_campaign_sends_a_wave_per_cron_time_within_its_re_entry_rule(
    app: App,
) -> None:
    clock = app.clock
    assert isinstance(clock, FixedClock)
    await _crowd(app, 2)
    weekly = await new_campaign(
        app,
        campaign_toml(
            "Every morning",
            extra="control_share = 0",
            schedule='type = "recurring"\ncron = "0 10 * * *"\nreentry_days = 2',
        ),
    )
    assert weekly.id is not None
    assert await start_and_send(app, weekly) is None  # 18:00 in Shanghai: the next 10:00

    async def morning(day: int) -> int:
        clock.set(datetime(2026, 6, day, 2, 5, tzinfo=UTC))  # 10:05 in Shanghai
        await send_wave(app.uow_factory, app.policy, weekly.id or 0, clock.now())
        return len(await campaign_outbox(app, weekly.id or 0))

    assert await morning(16) == 2
    assert await morning(17) == 2  # a day later: within the two days of the re-entry rule
    assert await morning(18) == 4
    assert await send_wave(app.uow_factory, app.policy, weekly.id, clock.now()) is None
