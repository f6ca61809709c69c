"""The job's due erasures: the query reads only as many requests as one run carries out (it
read every due request and kept the first few), the oldest due first, then by id."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta

from bot.bootstrap import App
from domain.privacy.model import ErasureRequest
from domain.privacy.services import erase_due
from tests.support.coupons import add_member, seed_stores
from tests.support.statements import statements


def due_queries(app: App) -> AbstractContextManager[list[str]]:
    """The statements inside the block that look for due erasures."""
    return statements(
        app,
        lambda line: "FROM erasure_requests" in line
        and "ORDER BY erasure_requests.due_at" in line,
    )


async def test_due_erasures_are_read_up_to_the_limit_oldest_due_first(any_app: App) -> None:
    app = any_app
    shop = await seed_stores(app)
    now = app.clock.now()
    ids = []
    for number in ("1", "2", "3", "4", "5"):
        member = await add_member(app, number, store=shop.shanghai)
        assert member.id is not None
        ids.append(member.id)
    first, tied_a, tied_b, later, not_yet = ids
    # Added out of order: the due time decides, then the request's id (tied_a before tied_b).
    due = {
        tied_a: now - timedelta(days=2), later: now - timedelta(hours=1),
        first: now - timedelta(days=3), tied_b: now - timedelta(days=2),
        not_yet: now + timedelta(days=1),
    }
    async with app.uow_factory() as uow:
        for member_id, at in due.items():
            await uow.privacy.add_erasure(ErasureRequest(member_id, at - timedelta(days=7), at))
        await uow.commit()

    async with app.uow_factory() as uow:
        every = await uow.privacy.due_erasures(now)
        two = await uow.privacy.due_erasures(now, 2)
    assert [r.member_id for r in every] == [first, tied_a, tied_b, later]
    assert [r.member_id for r in two] == [first, tied_a]

    erased = []
    for _ in range(5):
        async with app.uow_factory() as uow:
            with due_queries(app) as queries:
                done = await erase_due(uow, now, limit=1)
            await uow.commit()
        assert len(queries) == 1 and "LIMIT" in queries[0], queries
        async with app.uow_factory() as uow:
            gone = [m for m in ids
                    if m not in erased and await uow.privacy.pending_erasure(m) is None]
        assert len(gone) == done
        erased += gone
    assert erased == [first, tied_a, tied_b, later]  # and not_yet waits for its day

    async with app.uow_factory() as uow:
        assert await erase_due(uow, now + timedelta(days=2), limit=0) == 0
        assert await erase_due(uow, now + timedelta(days=2)) == 1
        await uow.commit()
