"""The maintained points summary on a real database: written in the same transaction as every
ledger append, equal to the replayed ledger after earning, spending, expiry, a late receipt and
a merge, and what /points reads."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.loyalty.model import EntryKind, LedgerEntry, summarise
from domain.loyalty.views import points_summary
from domain.shared.member_data import reassign_member
from storage.loyalty.tables import points_summaries
from storage.member_data import member_data_for
from tests.support.coupons import add_member


async def _stale(app: App) -> list[int]:
    async with app.uow_factory() as uow:
        return await uow.ledger.stale_summaries()


async def test_the_summary_follows_every_append_and_equals_the_replayed_ledger(
    any_app: App,
) -> None:
    app = any_app
    member = await add_member(app, "31", chat=901)
    assert member.id is not None
    now = app.clock.now()
    earn = [
        LedgerEntry(member.id, EntryKind.EARN, 100 + i, f"sum:{i}", now - timedelta(days=40 - i),
                    expires_at=now - timedelta(days=30 - 2 * i))
        for i in range(20)
    ]
    async with app.uow_factory() as uow:
        await uow.ledger.append(earn[:10])
        first = await uow.ledger.summary(member.id)  # made from the ledger, then kept
        await uow.commit()
    assert first.entries == 10
    async with app.uow_factory() as uow:
        await uow.ledger.append(earn[10:])  # in order: the summary advances
        await uow.ledger.append([LedgerEntry(member.id, EntryKind.REDEEM, -150, "sum:spend",
                                             now - timedelta(days=1))])
        await uow.commit()
    assert await _stale(app) == []

    # /points books what expired (older than the newest entry: a replay), and stays equal.
    async with app.uow_factory() as uow:
        shown = await points_summary(uow, app.policy, member.id, now)
        await uow.commit()
    async with app.uow_factory() as uow:
        entries = await uow.ledger.entries_for(member.id)
        stored = await uow.ledger.summary(member.id)
    assert any(e.kind is EntryKind.EXPIRE for e in entries)
    assert shown.balance == stored.balance == sum(e.points for e in entries)
    assert stored.balance == summarise(member.id, entries).balance
    assert await _stale(app) == []

    # A receipt booked late (older than the newest entry) is replayed, not guessed.
    async with app.uow_factory() as uow:
        await uow.ledger.append([LedgerEntry(member.id, EntryKind.EARN, 7, "sum:late",
                                             now - timedelta(days=90))])
        await uow.commit()
    assert await _stale(app) == []


async def test_a_merge_drops_both_summaries_and_they_are_made_again_right(any_app: App) -> None:
    app = any_app
    kept = await add_member(app, "32", chat=902, points=300)
    merged = await add_member(app, "33", chat=903, points=200)
    assert kept.id is not None and merged.id is not None
    async with app.uow_factory() as uow:
        await uow.ledger.summary(kept.id)
        await uow.ledger.summary(merged.id)
        await uow.commit()
    async with app.engine.begin() as conn:
        await reassign_member(member_data_for(conn), merged.id, kept.id)
    async with app.engine.connect() as conn:
        left = (await conn.execute(points_summaries.select())).all()
    assert left == []
    async with app.uow_factory() as uow:
        assert (await uow.ledger.summary(kept.id)).balance == 500
        await uow.commit()
    assert await _stale(app) == []
