"""A refresh's slice of moves (`MembersMoved`) reaches the gone-quiet rule in bulk: the same
rules as one member's move, read for the whole slice at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.bootstrap import App
from domain.callbacks.model import CallbackStatus, Channel, FlagKind, Rule
from domain.privacy.model import Purpose
from domain.privacy.services import set_consent
from domain.segments.events import LifecycleChanged, MembersMoved
from domain.segments.model import Lifecycle
from tests.support.callbacks import all_callbacks, set_rule
from tests.support.coupons import add_member
from tests.support.tickets import clock, seed_desk

ACTIVE, AT_RISK, LAPSED = Lifecycle.ACTIVE, Lifecycle.AT_RISK, Lifecycle.LAPSED


async def _slice(app: App, *moves: tuple[int, Lifecycle | None, Lifecycle, bool]) -> None:
    now = app.clock.now()
    async with app.uow_factory() as uow:
        await uow.record(
            MembersMoved(
                now,
                lifecycles=tuple(
                    LifecycleChanged(now, member_id, old, new, high, False)
                    for member_id, old, new, high in moves
                ),
                segments=(),
            )
        )
        await uow.commit()


async def test_a_slice_calls_back_only_valuable_members_gone_quiet_who_may_be_called(
    any_app: App,
) -> None:
    app = any_app
    desk = await seed_desk(app)
    set_rule(app, Rule.GONE_QUIET, channel=Channel.CALL)
    ordinary, refused, first, stays, flagged = [
        await add_member(app, no, store=desk.shop.shanghai)
        for no in ("3", "4", "5", "6", "7")
    ]
    valuable = desk.member.id
    assert valuable is not None and desk.other.id is not None
    ids = [m.id for m in (ordinary, refused, first, stays, flagged)]
    assert all(i is not None for i in ids)
    async with app.uow_factory() as uow:
        await set_consent(uow, app.policy, refused.id or 0, Purpose.CALLS, False,
                          app.clock.now())
        await uow.callbacks.add_flag(flagged.id or 0, FlagKind.DO_NOT_CALL, app.clock.now(), None)
        await uow.members.update(replace(desk.member, tier="gold"))  # valuable by its tier
        await uow.commit()
    await _slice(
        app,
        (valuable, ACTIVE, AT_RISK, False),  # gold, gone quiet: called
        (desk.other.id, ACTIVE, LAPSED, True),  # valuable, lapsed: called
        (ordinary.id or 0, ACTIVE, AT_RISK, False),  # not valuable
        (refused.id or 0, ACTIVE, AT_RISK, True),  # said no to calls
        (first.id or 0, None, LAPSED, True),  # a first classification is no move
        (stays.id or 0, AT_RISK, ACTIVE, True),  # came back
        (flagged.id or 0, ACTIVE, LAPSED, True),  # "do not call"
    )
    made = await all_callbacks(app)
    assert sorted((c.member_id, c.rule, c.status) for c in made) == sorted(
        (member_id, Rule.GONE_QUIET, CallbackStatus.QUEUED)
        for member_id in (valuable, desk.other.id)
    )
    assert {c.context for c in made} == {"at_risk", "lapsed"}

    clock(app).advance(timedelta(days=30))  # at most once per the rule's days
    await _slice(app, (valuable, AT_RISK, LAPSED, True), (desk.other.id, LAPSED, AT_RISK, True))
    assert len(await all_callbacks(app)) == 2
