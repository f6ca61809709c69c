"""Starting a campaign for 100,000 members: audience, coupons and outbox rows, in batches,
against a bare INSERT ... SELECT of the same rows in the same run.

The campaign run is `retailbot campaign start` without the printing: the campaign is started
(audited), its audience read in one query (members with their store and most recent reachable
chat), then WAVE_BATCH members per transaction get their group (control by a stable hash),
their own coupon (generated code, template terms), their rendered zh and en message queued in
the outbox (one INSERT per message through the outbox port) and their recipient row. The
baseline writes the same number of coupons, outbox rows and recipient rows with three
INSERT ... SELECT statements in one transaction: no codes generated, no messages rendered, no
rules applied. Each side gets its own freshly seeded database, so neither sees the other's
rows. SQLite, and PostgreSQL when a server is given.

    PYTHONPATH=. python bench/bench_campaigns.py [--members 100000] [--pg URL]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from bench.common import PG_SKIPPED, bench_parser, temporary_postgres
from bot.bootstrap import App, build_app
from bot.config import Settings
from domain.members.model import Store
from domain.shared.clock import FixedClock
from scheduler.jobs.campaigns import send_wave
from storage.members.tables import chat_users, members
from tests.support.campaigns import campaign_toml, new_campaign

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
SEED_CHUNK = 10_000

BASELINE = [
    # The same coupons: one per treated member (90%: the control hash is left out here).
    """INSERT INTO coupons (member_id, code, source, template_key, kind, value_cents,
        min_spend_cents, stores, name_en, name_zh, status, issued_at, expires_at)
       SELECT m.id, 'B' || m.id, 'campaign:9', 'ten_off', 'amount', 1000, 5000, '[]',
        '10 off', '立减10元', 'active', :now, :expires
       FROM members m WHERE m.id % 10 <> 0""",
    """INSERT INTO outbox (dedupe_key, member_id, chat_user_id, chat_id, kind, message_key,
        params, buttons, quiet_hours, status, attempts, next_attempt_at, last_error, created_at)
       SELECT 'campaign:9:once:member:' || m.id, m.id, c.id, c.chat_id, 'marketing',
        'campaigns.offer', '{}', '[]', true, 'pending', 0, :now, '', :now
       FROM members m JOIN chat_users c ON c.member_id = m.id WHERE m.id % 10 <> 0""",
    """INSERT INTO campaign_recipients (campaign_id, member_id, wave, cohort, reason,
        local_day, assigned_at)
       SELECT :campaign, m.id, 'once', CASE WHEN m.id % 10 = 0 THEN 'control' ELSE 'treated'
        END, '', :day, :now
       FROM members m""",
]


async def seed(url: str, count: int) -> App:
    app = await build_app(Settings(database_url=url), clock=FixedClock(NOW))
    async with app.uow_factory() as uow:
        store = await uow.stores.add(Store("SH01", "Shanghai People's Square", "Asia/Shanghai"))
        await uow.commit()
    async with app.engine.begin() as conn:
        for start in range(0, count, SEED_CHUNK):
            ids = range(start + 1, min(count, start + SEED_CHUNK) + 1)
            await conn.execute(
                insert(members),
                [
                    {
                        "id": i,
                        "member_no": f"{i:08d}",
                        "name": f"Member {i}",
                        "phone": f"+86139{i:08d}",
                        "home_store_id": store.id,
                        "tier": "member",
                        "marketing_consent": True,
                        "joined_at": NOW - timedelta(days=400),
                        "language": "zh" if i % 2 else "en",
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(chat_users),
                [
                    {
                        "id": i,
                        "channel": "telegram",
                        "user_id": str(100_000_000 + i),
                        "chat_id": str(100_000_000 + i),
                        "member_id": i,
                        "state": "",
                        "state_data": {},
                        "reachable": True,
                        "created_at": NOW,
                        "updated_at": NOW,
                        "language": "zh" if i % 2 else "en",
                    }
                    for i in ids
                ],
            )
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("members", "chat_users"):
                await conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
    return app


async def campaign_run(url: str, count: int) -> tuple[float, str]:
    app = await seed(url, count)
    try:
        campaign = await new_campaign(app, campaign_toml("Bench", extra="control_share = 0.1"))
        assert campaign.id is not None
        began = time.perf_counter()
        async with app.uow_factory() as uow:
            from domain.campaigns.services import start_campaign

            await start_campaign(uow, campaign.id, "bench", NOW)
            await uow.commit()
        run = await send_wave(app.uow_factory, app.policy, campaign.id, NOW)
        took = time.perf_counter() - began
        assert run is not None
        return took, run.summary()
    finally:
        await app.close()


async def baseline_run(url: str, count: int) -> float:
    app = await seed(url, count)
    try:
        campaign = await new_campaign(app, campaign_toml("Baseline"))
        params = {
            "now": NOW if app.engine.dialect.name == "postgresql" else NOW.replace(tzinfo=None),
            "expires": NOW + timedelta(days=30)
            if app.engine.dialect.name == "postgresql"
            else (NOW + timedelta(days=30)).replace(tzinfo=None),
            "day": NOW.date(),
            "campaign": campaign.id,
        }
        began = time.perf_counter()
        async with app.engine.begin() as conn:
            for statement in BASELINE:
                names = [n for n in params if f":{n}" in statement]
                await conn.execute(text(statement), {n: params[n] for n in names})
        return time.perf_counter() - began
    finally:
        await app.close()


async def measure(label: str, make_url: object, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        urls = [await make_url(folder, "campaign"), await make_url(folder, "baseline")]  # type: ignore[operator]
        took, summary = await campaign_run(urls[0], count)
        bare = await baseline_run(urls[1], count)
    print(
        f"{label:<10} campaign start {took:7.2f} s ({count / took:8,.0f} members/s)   "
        f"INSERT ... SELECT {bare:6.2f} s   ratio {took / bare:5.1f}x\n"
        f"{'':<10} {summary}"
    )


async def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()

    async def sqlite_url(folder: str, name: str) -> str:
        return f"sqlite+aiosqlite:///{folder}/{name}.db"

    await measure("SQLite", sqlite_url, args.members)
    if not args.pg:
        print(PG_SKIPPED)
        return
    async with temporary_postgres(args.pg) as first, temporary_postgres(args.pg) as second:
        pg = iter([first, second])

        async def pg_url(folder: str, name: str) -> str:
            return next(pg)

        await measure("PostgreSQL", pg_url, args.members)


if __name__ == "__main__":
    asyncio.run(main())
