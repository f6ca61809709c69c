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
from tests.support.coupons import add_member, seed_stores
from tests.support.segments import refresh, segment_rows, shop, stats_rows
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
    shops = await seed_stores(app)
    anna = await add_member(app, "1001")
    ben = await add_member(app, "1002")
    assert anna.id is not None and ben.id is not None
    await shop(app, anna.id, shops.shanghai, 380, "120.00")  # only in all-time figures
    await refresh(app)  # the first refresh builds the window from the receipts
    await shop(app, anna.id, shops.shanghai, 20, "80.00", no="A-20")
    await shop(app, anna.id, shops.shanghai, 1, "-30.00", no="A-20-R", original="A-20")
    await shop(app, ben.id, shops.new_york, 300, "45.50")
    clock(app).advance(timedelta(days=100))  # ben's purchase leaves the 365-day window
    await refresh(app)
    kept = await stats_rows(app)
    assert (kept[anna.id].purchases, kept[anna.id].spend_cents) == (2, 17_000)
    assert (kept[anna.id].window_purchases, kept[anna.id].window_spend_cents) == (1, 5_000)
    assert (kept[ben.id].window_purchases, kept[ben.id].window_spend_cents) == (0, 0)

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
    shops = await seed_stores(app)
    regular = await add_member(app, "2001")
    newcomer = await add_member(app, "2002")
    prospect = await add_member(app, "2003")
    assert regular.id is not None and newcomer.id is not None and prospect.id is not None
    for days in (70, 55, 40, 25, 10):
        await shop(app, regular.id, shops.shanghai, days, "150.00")
    await shop(app, newcomer.id, shops.shanghai, 3, "30.00")

    first = await refresh(app)
    rows = await segment_rows(app)
    assert first.record.members == 3 and first.record.scored == 2
    assert first.record.model == "fallback"  # three members are too few for BG/NBD
    assert rows[regular.id].lifecycle == "active" and rows[regular.id].r is not None
    assert rows[newcomer.id].lifecycle == "new"
    assert rows[prospect.id].lifecycle == "prospect" and rows[prospect.id].segment is None
    assert heard == []  # the first refresh is where everyone starts

    clock(app).advance(timedelta(days=1))
    await refresh(app)
    assert heard == []  # a day later nobody moved: nothing to announce

    clock(app).advance(timedelta(days=40))  # 51 days: three fortnightly shops missed
    await refresh(app)
    moved = {(e.member_id, e.old, e.new) for e in heard if isinstance(e, LifecycleChanged)}
    assert (regular.id, Lifecycle.ACTIVE, Lifecycle.AT_RISK) in moved
    assert (newcomer.id, Lifecycle.NEW, Lifecycle.AT_RISK) in moved
    assert all(e.member_id != prospect.id for e in heard)
    clock(app).advance(timedelta(hours=1))
    before = len(heard)
    await refresh(app)
    assert len(heard) == before  # announced once, not at every refresh


async def test_a_members_segment_figures_are_exported_erased_and_merged(any_app: App) -> None:
    app = any_app
    shops = await seed_stores(app)
    kept = await add_member(app, "3001")
    other = await add_member(app, "3002")
    assert kept.id is not None and other.id is not None
    await shop(app, kept.id, shops.shanghai, 50, "10.00")
    await shop(app, other.id, shops.shanghai, 90, "20.00")
    await shop(app, other.id, shops.shanghai, 5, "30.00")
    await refresh(app)
    async with app.uow_factory() as uow:
        exported = await export_member(uow.member_data, other.id)
        assert exported["member_stats"][0]["purchases"] == 2
        assert exported["member_segments"][0]["lifecycle"] == "active"
        await reassign_member(uow.member_data, other.id, kept.id)
        await uow.commit()
    stats = await stats_rows(app)
    assert other.id not in stats and other.id not in await segment_rows(app)
    assert (stats[kept.id].purchases, stats[kept.id].spend_cents) == (3, 6_000)
    assert stats[kept.id].first_purchase_at == app.clock.now() - timedelta(days=90)
    assert stats[kept.id].last_purchase_at == app.clock.now() - timedelta(days=5)
    async with app.uow_factory() as uow:
        await erase_member(uow.member_data, kept.id)
        await uow.commit()
    assert kept.id not in await stats_rows(app) and kept.id not in await segment_rows(app)


async def test_a_member_who_refused_profiling_is_in_no_segment_and_no_churn_list(
    any_app: App,
) -> None:
    app = any_app
    shops = await seed_stores(app)
    keeps = await add_member(app, "3001")
    refuses = await add_member(app, "3002")
    assert keeps.id is not None and refuses.id is not None
    for member in (keeps, refuses):
        assert member.id is not None
        for days in (60, 30, 5):
            await shop(app, member.id, shops.shanghai, days, "120.00")
    await refresh(app)
    assert {keeps.id, refuses.id} <= set(await segment_rows(app))

    # Saying no in /privacy removes the member's scores at once...
    async with app.uow_factory() as uow:
        await set_consent(uow, app.policy, refuses.id, Purpose.PROFILING, False,
                          app.clock.now())
        await uow.commit()
    assert refuses.id not in await segment_rows(app)
    # ...and no later refresh scores them again, while the others are scored as before.
    clock(app).advance(timedelta(days=1))
    await refresh(app)
    rows = await segment_rows(app)
    assert keeps.id in rows and refuses.id not in rows
