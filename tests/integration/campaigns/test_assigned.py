"""Who a campaign put in a group and when (SQLite and PostgreSQL): only that campaign's
members of that group, by member id."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.campaigns.model import Group, RecipientRow
from tests.support.campaigns import campaign_toml, new_campaign
from tests.support.coupons import add_member


async def test_a_groups_members_come_back_by_member_id_with_when_they_were_assigned(
    any_app: App,
) -> None:
    ids = []
    for n in range(1, 5):
        member = await add_member(any_app, str(n))
        assert member.id is not None
        ids.append(member.id)
    one = await new_campaign(any_app, campaign_toml("One"))
    other = await new_campaign(any_app, campaign_toml("Other"))
    assert one.id is not None and other.id is not None
    now = any_app.clock.now()
    later = now + timedelta(hours=2)
    day = now.date()
    rows = [
        RecipientRow(one.id, ids[3], "w1", Group.TREATED, day, now),
        RecipientRow(one.id, ids[0], "w1", Group.TREATED, day, later),
        RecipientRow(one.id, ids[1], "w1", Group.CONTROL, day, now),
        RecipientRow(one.id, ids[2], "w1", Group.SKIPPED, day, now, reason="no consent"),
        RecipientRow(other.id, ids[1], "w1", Group.TREATED, day, now),
    ]
    async with any_app.uow_factory() as uow:
        await uow.campaigns.add_recipients(rows)
        await uow.commit()
    async with any_app.uow_factory() as uow:
        treated = await uow.campaigns.assigned(one.id, Group.TREATED)
        control = await uow.campaigns.assigned(one.id, Group.CONTROL)
        assert await uow.campaigns.assigned(other.id, Group.HOLDOUT) == []
    assert treated == [(ids[0], later), (ids[3], now)]
    assert control == [(ids[1], now)]
