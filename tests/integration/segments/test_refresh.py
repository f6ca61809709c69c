"""The segments refresh on SQLite and PostgreSQL: statistics kept by the booking path, the
window moving, scores written back, changes announced once, the member's footprint."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.bootstrap import App
from domain.privacy.model import Purpose
from domain.privacy.services import set_consent
from domain.segments.events import LifecycleChanged, MembersMoved
from domain.segments.model import Lifecycle
from domain.shared.member_data import erase_member, export_member, reassign_member
from domain.shared.ports import UnitOfWork
from tests.support.segments import refresh, segment_rows, shop, shoppers, stats_rows
from tests.support.tickets import clock


def _figures(row: Any) -> tuple[Any, ...]:
    return (
        row.first_purchase_at, row.last_purchase_at, row.purchases, row.spend_cents,
        row.window_purchases, row.window_spend_cents,
    )


async def test_statistics_kept_by_each_booking_equal_a_rebuild_from_every_receipt(
    any_app: App,
) -> None:
    app = any_app
    shops, (anna, ben) = await shoppers(app, "1001", "1002")
    await shop(app, anna, shops.shanghai, 380, "120.00")  # only in all-time figures
    await refresh(app)  # the first refresh builds the window from the receipts
    await shop(app, anna, shops.shanghai, 20, "80.00", no="A-20")
    await shop(app, anna, shops.shanghai, 1, "-30.00", no="A-20-R", original="A-20")
    await shop(app, ben, shops.new_york, 300, "45.50")
    clock(app).advance(timedelta(days=100))  # ben's purchase leaves the 365-day window
    await refresh(app)
    kept = await stats_rows(app)
    assert (kept[anna].purchases, kept[anna].spend_cents) == (2, 17_000)
    assert (kept[anna].window_purchases, kept[anna].window_spend_cents) == (1, 5_000)
    assert (kept[ben].window_purchases, kept[ben].window_spend_cents) == (0, 0)

    await refresh(app, rebuild=True)
    rebuilt = await stats_rows(app)
    assert {k: _figures(v) for k, v in kept.items()} == {
        k: _figures(v) for k, v in rebuilt.items()
    }


async def test_a_refresh_scores_every_member_and_announces_only_real_changes(
    any_app: App,
) -> None:
    app = any_app
    heard: list[Any] = []

    async def listen(uow: UnitOfWork, event: MembersMoved) -> None:
        heard.extend([*event.lifecycles, *event.segments])

    app.uow_factory.bus.subscribe(MembersMoved, listen)
    shops, (regular, newcomer, prospect) = await shoppers(app, "2001", "2002", "2003")
    for days in (70, 55, 40, 25, 10):
        await shop(app, regular, shops.shanghai, days, "150.00")
    await shop(app, newcomer, shops.shanghai, 3, "30.00")

    first = await refresh(app)
    rows = await segment_rows(app)
    assert first.record.members == 3 and first.record.scored == 2
    assert first.record.model == "fallback"  # three members are too few for BG/NBD
    assert rows[regular].lifecycle == "active" and rows[regular].r is not None
    assert rows[newcomer].lifecycle == "new"
    assert rows[prospect].lifecycle == "prospect" and rows[prospect].segment is None
    assert heard == []  # the first refresh is where everyone starts

    clock(app).advance(timedelta(days=1))
    await refresh(app)
    assert heard == []  # a day later nobody moved: nothing to announce

    clock(app).advance(timedelta(days=40))  # 51 days: three fortnightly shops missed
    await refresh(app)
    moved = {(e.member_id, e.old, e.new) for e in heard if isinstance(e, LifecycleChanged)}
    assert (regular, Lifecycle.ACTIVE, Lifecycle.AT_RISK) in moved
    assert (newcomer, Lifecycle.NEW, Lifecycle.AT_RISK) in moved
    assert all(e.member_id != prospect for e in heard)
    clock(app).advance(timedelta(hours=1))
    before = len(heard)
    await refresh(app)
    assert len(heard) == before  # announced once, not at every refresh


async def test_a_members_segment_figures_are_exported_erased_and_merged(any_app: App) -> None:
    app = any_app
    shops, (kept, other) = await shoppers(app, "3001", "3002")
    await shop(app, kept, shops.shanghai, 50, "10.00")
    await shop(app, other, shops.shanghai, 90, "20.00")
    await shop(app, other, shops.shanghai, 5, "30.00")
    await refresh(app)
    async with app.uow_factory() as uow:
        exported = await export_member(uow.member_data, other)
        assert exported["member_stats"][0]["purchases"] == 2
        assert exported["member_segments"][0]["lifecycle"] == "active"
        await reassign_member(uow.member_data, other, kept)
        await uow.commit()
    stats = await stats_rows(app)
    assert other not in stats and other not in await segment_rows(app)
    assert (stats[kept].purchases, stats[kept].spend_cents) == (3, 6_000)
    assert stats[kept].first_purchase_at == app.clock.now() - timedelta(days=90)
    assert stats[kept].last_purchase_at == app.clock.now() - timedelta(days=5)
    async with app.uow_factory() as uow:
        await erase_member(uow.member_data, kept)
        await uow.commit()
    assert kept not in await stats_rows(app) and kept not in await segment_rows(app)


async def test_a_member_who_refused_profiling_is_in_no_segment_and_no_churn_list(
    any_app: App,
) -> None:
    app = any_app
    shops, (keeps, refuses) = await shoppers(app, "3001", "3002")
    for member_id in (keeps, refuses):
        for days in (60, 30, 5):
            await shop(app, member_id, shops.shanghai, days, "120.00")
    await refresh(app)
    assert {keeps, refuses} <= set(await segment_rows(app))

    # Saying no in /privacy removes the member's scores at once...
    async with app.uow_factory() as uow:
        await set_consent(uow, app.policy, refuses, Purpose.PROFILING, False,
                          app.clock.now())
        await uow.commit()
    assert refuses not in await segment_rows(app)
    # ...and no later refresh scores them again, while the others are scored as before.
    clock(app).advance(timedelta(days=1))
    await refresh(app)
    rows = await segment_rows(app)
    assert keeps in rows and refuses not in rows
