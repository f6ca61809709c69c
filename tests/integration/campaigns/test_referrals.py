"""Referrals: a friend opens the share link, joins, buys, and both get the reward, once, within
the limits against abuse."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.bootstrap import App
from domain.campaigns.services import campaign_report
from domain.members.services import enrol_member
from scheduler.jobs.campaigns import settle_referrals
from tests.support.campaigns import campaign_toml, new_campaign
from tests.support.conversation import say
from tests.support.coupons import add_member, seed_stores
from tests.support.surveys import add_receipt, use_policy


async def _join(app: App, user: int, phone: str) -> int:
    async with app.uow_factory() as uow:
        chat_user = await uow.chat_users.get("telegram", str(user))
        assert chat_user is not None
        member = await enrol_member(
            uow,
            chat_user,
            name="Friend",
            phone=phone,
            birthday=None,
            marketing_consent=True,
            now=app.clock.now(),
        )
        await uow.commit()
    assert member.id is not None
    return member.id


async def _balance(app: App, member_id: int) -> int:
    async with app.uow_factory() as uow:
        return await uow.ledger.balance(member_id)


async def test_a_friend_who_joins_through_the_link_and_buys_rewards_both_once(app: App) -> None:
    shop = await seed_stores(app)
    referrer = await add_member(app, "100001", store=shop.shanghai, chat=501, consent=True)
    assert referrer.id is not None
    await say(app, "/start ref_100001", user=777)
    friend = await _join(app, 777, "+8613911112222")
    run = await settle_referrals(app.uow_factory, app.policy, app.clock.now())
    assert run.attributed == 1 and run.rewarded == 0  # no purchase yet
    await add_receipt(app, "R1", friend, shop.shanghai, app.clock.now() + timedelta(hours=1))
    run = await settle_referrals(app.uow_factory, app.policy, app.clock.now())
    assert run.rewarded == 1
    assert await _balance(app, referrer.id) == 100
    assert await _balance(app, friend) == 50
    run = await settle_referrals(app.uow_factory, app.policy, app.clock.now())
    assert run.rewarded == 0 and await _balance(app, referrer.id) == 100

    campaign = await new_campaign(app, campaign_toml())
    assert campaign.id is not None
    async with app.uow_factory() as uow:
        report = await campaign_report(uow, app.policy, campaign.id, app.clock.now())
    assert report.referrals == {"rewarded": 1}


async def test_existing_members_self_referrals_and_too_many_referrals_earn_nothing(
    app: App,
) -> None:
    use_policy(
        app,
        replace(
            app.policy,
            campaigns=replace(
                app.policy.campaigns,
                referrals=replace(app.policy.campaigns.referrals, max_per_month=1),
            ),
        ),
    )
    shop = await seed_stores(app)
    referrer = await add_member(app, "100001", store=shop.shanghai, chat=501, consent=True)
    assert referrer.id is not None
    await say(app, "/start ref_100001", user=501)  # the referrer's own chat: already a member
    await say(app, "/start ref_100001", user=801)
    await say(app, "/start ref_100001", user=802)
    first = await _join(app, 801, "+8613911110001")
    second = await _join(app, 802, "+8613911110002")
    for n, member_id in enumerate((first, second)):
        await add_receipt(app, f"R{n}", member_id, shop.shanghai, app.clock.now())
    run = await settle_referrals(app.uow_factory, app.policy, app.clock.now())
    assert run.rewarded == 1
    assert run.refused == {"referrer over 1 referrals this month": 1}
    assert await _balance(app, referrer.id) == 100
