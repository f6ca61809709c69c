"""A refresh's slice of moves (`MembersMoved`) reaches the triggered campaigns in bulk: one
audience per campaign for the whole slice, with the re-entry rule and consent as for one
member's move."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.segments.events import LifecycleChanged, MembersMoved, SegmentChanged
from domain.segments.model import Lifecycle
from domain.shared.clock import FixedClock
from tests.support.campaigns import (
    campaign_outbox,
    campaign_toml,
    new_campaign,
    set_segment,
    start_and_send,
)
from tests.support.coupons import add_member, seed_stores


async def test_a_slice_of_moves_triggers_campaigns_for_its_members_under_their_rules(
    any_app: App,
) -> None:
    app = any_app
    clock = app.clock
    assert isinstance(clock, FixedClock)
    shop = await seed_stores(app)
    members = [
        await add_member(app, no, store=shop.shanghai, chat=chat, consent=consent)
        for no, chat, consent in (("1", 501, True), ("2", 502, True), ("3", 503, False))
    ]
    ids = [m.id for m in members]
    assert all(i is not None for i in ids)
    one, two, no_consent = (i or 0 for i in ids)
    for member_id in (one, two, no_consent):
        await set_segment(app, member_id, lifecycle="at_risk", segment="at_risk")
    at_risk = await new_campaign(
        app,
        campaign_toml(
            "At risk",
            extra="control_share = 0",
            schedule='type = "triggered"\nevent = "moved_to_at_risk"\nreentry_days = 30',
        ),
    )
    entered = await new_campaign(
        app,
        campaign_toml(
            "Entered",
            extra="control_share = 0",
            schedule='type = "triggered"\nevent = "entered_segment"\nsegment = "at_risk"\n'
            "reentry_days = 30",
        ),
    )
    assert at_risk.id is not None and entered.id is not None
    await start_and_send(app, at_risk)
    await start_and_send(app, entered)

    async def moved(days_later: int) -> tuple[int, int]:
        clock.set(clock.now() + timedelta(days=days_later))
        now = clock.now()
        async with app.uow_factory() as uow:
            await uow.record(
                MembersMoved(
                    now,
                    lifecycles=tuple(
                        LifecycleChanged(now, i, Lifecycle.ACTIVE, Lifecycle.AT_RISK, False, True)
                        for i in (one, no_consent)
                    ),
                    segments=(SegmentChanged(now, two, "loyal", "at_risk"),),
                )
            )
            await uow.commit()
        assert at_risk.id is not None and entered.id is not None
        return (
            len(await campaign_outbox(app, at_risk.id)),
            len(await campaign_outbox(app, entered.id)),
        )

    first = await moved(0)
    assert first == (1, 1)  # member one moved (not the one without consent); two entered
    assert await moved(10) == first  # within 30 days: not again
    assert await moved(21) == (2, 2)  # 31 days after the first: again
