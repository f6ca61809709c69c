"""A member's tickets opened at one moment (SQLite and PostgreSQL): only that member's, only
that moment's, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.bootstrap import App
from domain.members.model import Member
from domain.tickets.model import new_ticket

T0 = datetime(2026, 6, 15, 15, 59, tzinfo=UTC)


async def _member(app: App, number: str) -> int:
    async with app.uow_factory() as uow:
        member = await uow.members.add(Member(number, f"Member {number}", None, T0))
        await uow.commit()
    assert member.id is not None
    return member.id


async def test_a_members_tickets_opened_at_a_moment_come_back_oldest_first(
    any_app: App,
) -> None:
    ann, bob = await _member(any_app, "1"), await _member(any_app, "2")
    policy = any_app.policy.tickets
    made = []
    async with any_app.uow_factory() as uow:
        for member_id, category, at in (
            (ann, "quality", T0),
            (bob, "quality", T0),  # someone else's
            (ann, "billing", T0 - timedelta(minutes=1)),  # another moment
            (ann, "other", T0),
        ):
            made.append(await uow.tickets.add(new_ticket(
                member_id=member_id, category=category, description="x", at=at,
                policy=policy)))
        await uow.commit()
    async with any_app.uow_factory() as uow:
        found = await uow.tickets.opened_at(ann, T0)
        assert await uow.tickets.opened_at(bob, T0 + timedelta(seconds=1)) == []
    assert found == [made[0], made[3]]
    assert [t.category for t in found] == ["quality", "other"]
