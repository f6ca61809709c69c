"""Birthday gifts in time: each store's local day, 29 February, catch-up, once a year for sure."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import text

from bot.bootstrap import App
from domain.coupons.model import CouponStatus
from domain.coupons.policy import BirthdayPolicy
from domain.shared.clock import FixedClock
from domain.shared.policy import Policy
from scheduler.jobs.coupons import issue_birthday_gifts
from storage.members.repository import birthday_query
from tests.support.coupons import add_member, count_coupons, moment, outbox_rows, seed_stores

JUNE_15 = date(1990, 6, 15)


async def _run(app: App, policy: Policy | None = None) -> str:
    run = await issue_birthday_gifts(app.uow_factory, policy or app.policy, app.clock.now())
    return run.summary()


def _clock(app: App) -> FixedClock:
    assert isinstance(app.clock, FixedClock)
    return app.clock


async def _holders(app: App, source: str) -> set[str]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT m.member_no FROM coupons c JOIN members m ON m.id = c.member_id "
                "WHERE c.source = :source"
            ),
            {"source": source},
        )
        return {row.member_no for row in rows}


async def test_each_store_zone_gets_its_gifts_on_its_own_local_day(any_app: App) -> None:
    shop = await seed_stores(any_app)
    await add_member(any_app, "1", store=shop.shanghai, birthday=JUNE_15, chat=501)
    await add_member(any_app, "2", store=shop.new_york, birthday=JUNE_15, chat=502)
    await add_member(any_app, "3", birthday=JUNE_15)  # no store: the chain's zone (Shanghai)
    await add_member(any_app, "4", store=shop.shanghai, birthday=date(1990, 6, 16))
    clock = _clock(any_app)

    clock.set(moment("2026-06-15 08:59 +08:00"))  # before the send time in Shanghai
    await _run(any_app)
    assert await _holders(any_app, "birthday:2026") == set()

    clock.set(moment("2026-06-15 09:00 +08:00"))  # 21:00 on 14 June in New York
    await _run(any_app)
    assert await _holders(any_app, "birthday:2026") == {"1", "3"}

    clock.set(moment("2026-06-15 09:05 -04:00"))  # New York's morning
    await _run(any_app)
    assert await _holders(any_app, "birthday:2026") == {"1", "2", "3"}

    greetings = [r for r in await outbox_rows(any_app) if r.message_key == "birthday.greeting"]
    assert sorted(r.dedupe_key for r in greetings) == [
        f"birthday:2026:member:{i}" for i in (1, 2)
    ]
    assert all(r.kind == "service" and r.quiet_hours for r in greetings)


async def test_the_gift_is_given_once_whatever_reruns(any_app: App) -> None:
    shop = await seed_stores(any_app)
    await add_member(any_app, "1", store=shop.shanghai, birthday=JUNE_15, chat=501)
    _clock(any_app).set(moment("2026-06-15 10:00 +08:00"))
    first = await _run(any_app)
    assert "1 coupons issued, 1 greetings queued" in first
    for _ in range(3):
        assert await _run(any_app) == "nothing due"
    # Even when the record of finished days is lost, the constraints hold.
    async with any_app.engine.begin() as conn:
        await conn.execute(text("DELETE FROM job_marks"))
    assert "0 coupons issued, 0 greetings queued" in await _run(any_app)
    assert await count_coupons(any_app, source="birthday:2026") == 1
    assert len(await outbox_rows(any_app)) == 1


async def test_two_scheduler_processes_at_once_give_one_gift(any_app: App) -> None:
    shop = await seed_stores(any_app)
    for i in range(1, 31):
        await add_member(any_app, str(i), store=shop.shanghai, birthday=JUNE_15, chat=500 + i)
    _clock(any_app).set(moment("2026-06-15 10:00 +08:00"))
    await asyncio.wait_for(asyncio.gather(_run(any_app), _run(any_app), _run(any_app)), 60)
    assert await count_coupons(any_app, source="birthday:2026") == 30
    assert len(await outbox_rows(any_app)) == 30


async def test_a_leap_day_birthday_is_kept_on_28_february_in_other_years(any_app: App) -> None:
    shop = await seed_stores(any_app)
    await add_member(any_app, "1", store=shop.shanghai, birthday=date(2000, 2, 29))
    await add_member(any_app, "2", store=shop.shanghai, birthday=date(1990, 2, 28))
    no_catch_up = Policy(birthday=BirthdayPolicy(catch_up_days=0))
    clock = _clock(any_app)

    clock.set(moment("2027-02-28 09:30 +08:00"))
    await _run(any_app, no_catch_up)
    assert await _holders(any_app, "birthday:2027") == {"1", "2"}

    clock.set(moment("2028-02-28 09:30 +08:00"))  # a leap year: 29 Feb comes tomorrow
    await _run(any_app, no_catch_up)
    assert await _holders(any_app, "birthday:2028") == {"2"}
    clock.set(moment("2028-02-29 09:30 +08:00"))
    await _run(any_app, no_catch_up)
    assert await _holders(any_app, "birthday:2028") == {"1", "2"}


async def test_missed_days_are_caught_up_within_the_grace_period_only(any_app: App) -> None:
    shop = await seed_stores(any_app)
    await add_member(any_app, "1", store=shop.shanghai, birthday=date(1990, 6, 12), chat=501)
    await add_member(any_app, "2", store=shop.shanghai, birthday=date(1990, 6, 10), chat=502)
    # The bot was down from 9 June; it comes back on 15 June with a grace of 3 days.
    _clock(any_app).set(moment("2026-06-15 07:00 +08:00"))
    summary = await _run(any_app)
    assert "Asia/Shanghai 2026-06-11" in summary and "2026-06-10" not in summary
    assert await _holders(any_app, "birthday:2026") == {"1"}
    # A late gift still has its full validity, counted from the day it was issued.
    async with any_app.uow_factory() as uow:
        coupons = await uow.coupons.active_for(1, any_app.clock.now())
    assert coupons[0].last_valid_day("Asia/Shanghai") == date(2026, 7, 15)


async def test_the_coupon_is_issued_to_all_the_greeting_only_to_the_reachable(
    any_app: App,
) -> None:
    shop = await seed_stores(any_app)
    await add_member(any_app, "1", store=shop.shanghai, birthday=JUNE_15, chat=501)
    await add_member(any_app, "2", store=shop.shanghai, birthday=JUNE_15)  # no chat
    await add_member(
        any_app, "3", store=shop.shanghai, birthday=JUNE_15, chat=503, reachable=False
    )
    await add_member(
        any_app, "4", store=shop.shanghai, birthday=JUNE_15, chat=504, opted_out=True
    )
    _clock(any_app).set(moment("2026-06-15 10:00 +08:00"))
    await _run(any_app)
    assert await _holders(any_app, "birthday:2026") == {"1", "2", "3", "4"}
    rows = await outbox_rows(any_app)
    assert [r.chat_id for r in rows] == ["501"]
    async with any_app.uow_factory() as uow:
        held = await uow.coupons.active_for(2, any_app.clock.now())
    assert [c.source for c in held] == ["birthday:2026"]
    assert held[0].status is CouponStatus.ACTIVE


async def test_birthdays_switched_off_in_the_policy(any_app: App) -> None:
    shop = await seed_stores(any_app)
    await add_member(any_app, "1", store=shop.shanghai, birthday=JUNE_15)
    _clock(any_app).set(moment("2026-06-15 10:00 +08:00"))
    assert await _run(any_app, Policy(birthday=BirthdayPolicy(template=""))) == "nothing due"
    assert await count_coupons(any_app) == 0


async def test_todays_birthdays_are_found_through_the_index(app: App) -> None:
    """On SQLite the plan names the index; bench/bench_birthdays.py times it at 1M members."""
    query = birthday_query((228, 229), (1, 2), unassigned=True)
    assert query is not None
    async with app.engine.connect() as conn:
        sql = str(query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
        plan = await conn.execute(text("EXPLAIN QUERY PLAN " + sql))
        details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX ix_members_birthday_md" in details, details
