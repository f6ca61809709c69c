"""The managers' /campaigns list reads the counts of every listed campaign in one query, not
one query per campaign (a chain's campaigns and recipients add up), with the same figures."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert

from bot.bootstrap import App
from domain.staff.model import Role, StaffMember
from storage.campaigns.tables import campaign_recipients
from tests.support.campaigns import campaign_toml, new_campaign
from tests.support.conversation import say
from tests.support.coupons import add_member, seed_stores
from tests.support.statements import statements

MANAGER = 6101


async def _campaign_with(app: App, name: str, member_ids: list[int], treated: int) -> int:
    """A campaign whose first `treated` members were sent to and the rest held as control."""
    campaign = await new_campaign(app, campaign_toml(name))
    assert campaign.id is not None
    at = datetime.fromisoformat("2026-06-15T09:00:00+00:00")
    rows = [
        {
            "campaign_id": campaign.id, "member_id": member_id, "wave": "once",
            "cohort": "treated" if i < treated else "control", "local_day": date(2026, 6, 15),
            "assigned_at": at,
        }
        for i, member_id in enumerate(member_ids)
    ]
    async with app.engine.begin() as conn:
        await conn.execute(insert(campaign_recipients), rows)
    return campaign.id


async def test_the_list_reads_every_campaigns_counts_in_one_query(any_app: App) -> None:
    app = any_app
    shop = await seed_stores(app)
    members = []
    for n in range(1, 5):
        member = await add_member(app, str(n), store=shop.shanghai)
        assert member.id is not None
        members.append(member.id)
    async with app.uow_factory() as uow:
        await uow.staff.save(StaffMember(str(MANAGER), Role.MANAGER, "Chen"))
        await uow.commit()
    await _campaign_with(app, "First", members, treated=3)
    await say(app, "/campaigns", user=MANAGER)  # the manager's chat account is made here

    with statements(app) as one:
        (listed,) = await say(app, "/campaigns", user=MANAGER)
    assert "First · draft · sent to 3, control 1" in listed.text

    await _campaign_with(app, "Second", members[:2], treated=1)
    await new_campaign(app, campaign_toml("Nobody yet"))
    await _campaign_with(app, "Fourth", members, treated=4)
    with statements(app) as four:
        (listed,) = await say(app, "/campaigns", user=MANAGER)
    assert "First · draft · sent to 3, control 1" in listed.text
    assert "Second · draft · sent to 1, control 1" in listed.text
    assert "Nobody yet · draft · sent to 0, control 0" in listed.text
    assert "Fourth · draft · sent to 4, control 0" in listed.text

    counted = [sql for sql in four if "FROM campaign_recipients" in sql]
    assert len(counted) == 1, counted  # was one per listed campaign
    assert len(four) == len(one), (len(one), len(four))  # more campaigns, no more statements
