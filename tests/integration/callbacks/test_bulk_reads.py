"""Many callbacks at once read their members in one query, not one query per member: the call
list export, the VIP and new-member rules of the job, and a refresh's slice of gone-quiet
moves. The same rows come out as before."""

from __future__ import annotations

import csv
import re
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.bootstrap import App
from bot.cli.callbacks import COLUMNS, export_calls
from domain.callbacks.model import CallbackRun, CallbackStatus, Channel, Rule
from domain.callbacks.services import schedule_vips
from domain.segments.events import LifecycleChanged, MembersMoved
from domain.segments.model import Lifecycle
from tests.support.callbacks import all_callbacks, complaint_calls, make_gold, set_rule
from tests.support.coupons import add_member
from tests.support.statements import statements
from tests.support.tickets import clock, seed_desk

# One member's row read by id (`= ?`), or many at once (`IN (...)`).
MEMBER_ROWS = re.compile(r"FROM members WHERE members\.id (=|IN)")


def member_reads(app: App) -> AbstractContextManager[list[str]]:
    """The statements inside the block that read members' rows by id."""
    return statements(app, lambda line: MEMBER_ROWS.search(line) is not None)


async def _members(app: App, store: Any, numbers: list[str]) -> list[int]:
    ids = []
    for number in numbers:
        member = await add_member(app, number, store=store)
        assert member.id is not None
        ids.append(member.id)
    return ids


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as found:
        return list(csv.reader(found))



async def test_the_call_list_export_reads_its_members_at_once(
    any_app: App, tmp_path: Path
) -> None:
    app = any_app
    desk = await seed_desk(app)
    shanghai = desk.shop.shanghai
    assert desk.member.id is not None
    await complaint_calls(app, [desk.member.id], shanghai.id)
    with member_reads(app) as one:
        assert await export_calls(app, "SH01", tmp_path / "one.csv") == 1

    more = await _members(app, shanghai, ["3", "4", "5"])
    await complaint_calls(app, more, shanghai.id)
    with member_reads(app) as four:
        assert await export_calls(app, "SH01", tmp_path / "four.csv") == 4
    assert len(one) == len(four) == 1, four  # was one read per call

    header, *rows = _read(tmp_path / "four.csv")
    assert tuple(header) == COLUMNS
    no, name, phone = (header.index(c) for c in ("member_no", "name", "phone"))
    assert [r[0] for r in rows] == ["C-1", "C-2", "C-3", "C-4"]
    assert [r[no] for r in rows] == ["1", "3", "4", "5"]
    assert all(r[name].startswith("Member ") and r[phone].startswith("+86") for r in rows)


async def test_the_vip_rule_reads_its_members_at_once(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    # 21:00 in Shanghai: the store's morning has passed, the VIPs are due now.
    clock(app).set(datetime(2026, 6, 15, 13, 0, tzinfo=UTC))
    first = await _members(app, desk.shop.shanghai, ["3"])
    stopped = await add_member(app, "4", store=desk.shop.shanghai, chat=504, opted_out=True)
    rest = [*await _members(app, desk.shop.shanghai, ["5", "6"]), stopped.id or 0]

    async def gold_and_run(member_ids: list[int]) -> tuple[CallbackRun, list[str]]:
        run = CallbackRun()
        await make_gold(app, *member_ids)
        with member_reads(app) as reads:
            async with app.uow_factory() as uow:
                await schedule_vips(uow, app.policy, app.clock.now(), run)
                await uow.commit()
        return run, reads

    run, one = await gold_and_run(first)
    assert run.created == {"vip": 1}
    run, three = await gold_and_run(rest)
    assert run.created == {"vip": 3}
    assert len(one) == len(three) == 1, three  # was one read per member
    made = {c.member_id: c for c in await all_callbacks(app)}
    assert set(made) == {*first, *rest}
    # Unreachable in the chat (no chat, /stop): straight to the call queue, as before.
    assert {c.status for c in made.values()} == {CallbackStatus.QUEUED}
    assert {c.store_id for c in made.values()} == {desk.shop.shanghai.id}


async def test_a_gone_quiet_slice_reads_its_members_at_once(any_app: App) -> None:
    app = any_app
    desk = await seed_desk(app)
    set_rule(app, Rule.GONE_QUIET, channel=Channel.CALL)
    ids = await _members(app, desk.shop.shanghai, ["3", "4", "5", "6"])
    now = app.clock.now()

    async def moved(member_ids: list[int]) -> list[str]:
        with member_reads(app) as reads:
            async with app.uow_factory() as uow:
                await uow.record(MembersMoved(now, lifecycles=tuple(
                    LifecycleChanged(now, m, Lifecycle.ACTIVE, Lifecycle.AT_RISK, True, False)
                    for m in member_ids
                ), segments=()))
                await uow.commit()
        return reads

    one = await moved(ids[:1])
    three = await moved(ids[1:])
    assert len(one) == len(three) == 1, three  # was one more read per member called back
    made = await all_callbacks(app)
    assert sorted(c.member_id for c in made) == sorted(ids)
    assert {(c.rule, c.status, c.context) for c in made} == {
        (Rule.GONE_QUIET, CallbackStatus.QUEUED, "at_risk")
    }
