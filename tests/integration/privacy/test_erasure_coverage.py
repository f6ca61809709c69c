"""The coverage proof of an erasure request: a member with rows in every feature asks for a copy
of their data, then to be forgotten; the copy held everything personal, and afterwards no table
anywhere holds their phone, name, birthday or any text they wrote, while the books still add up.
"""

from __future__ import annotations

import json

from bot.bootstrap import App
from domain.privacy.services import erase_now, export_for_member
from tests.support.footprint import BIRTHDAY, PERSONAL, copies_of, member_books, seed_footprint


async def test_an_erasure_request_leaves_no_copy_and_the_export_held_all_of_it(
    desk_app: App,
) -> None:
    app = desk_app
    fp = await seed_footprint(app)
    async with app.uow_factory() as uow:
        copy = json.dumps(await export_for_member(uow, fp.member_id), ensure_ascii=False)
    for personal in [*PERSONAL, BIRTHDAY.isoformat()]:
        assert personal in copy, personal
    books = await member_books(app, fp.member_id)

    async with app.uow_factory() as uow:
        changed = await erase_now(uow, fp.member_id, app.clock.now(), actor="cli",
                                  reason="at the member's request")
        await uow.commit()
    assert changed["privacy"] > 0 and changed["members"] > 0
    assert await copies_of(app, PERSONAL, BIRTHDAY) == []
    assert await member_books(app, fp.member_id) == books
    async with app.uow_factory() as uow:
        trail = await uow.audit.find(actor="cli")
        pending = await uow.privacy.pending_erasure(fp.member_id)
    assert pending is None  # the request the member made is marked done
    erased = [(e.action, e.member_id) for e in trail if e.action.startswith("member.")]
    assert erased == [("member.erase", fp.member_id)]
