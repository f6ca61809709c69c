"""What a campaign brought: delivery and skips, purchases of the treated and the control group
within the attribution window, the uplift, and "too small to conclude"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update

from bot.bootstrap import App
from domain.campaigns.rules import in_control
from domain.campaigns.services import campaign_report
from storage.messaging.tables import outbox
from tests.support.campaigns import campaign_toml, new_campaign, recipients, start_and_send
from tests.support.coupons import add_member, seed_stores
from tests.support.surveys import add_receipt


async def test_the_report_compares_treated_and_control_within_the_attribution_window(
    any_app: App,
) -> None:
    app = any_app
    shop = await seed_stores(app)
    for n in range(1, 41):
        await add_member(app, str(n), store=shop.shanghai, chat=2000 + n, consent=True)
    campaign = await new_campaign(app, campaign_toml(extra="control_share = 0.5"))
    assert campaign.id is not None
    await start_and_send(app, campaign)
    rows = await recipients(app, campaign.id)
    treated = [r.member_id for r in rows if r.cohort == "treated"]
    control = [r.member_id for r in rows if r.cohort == "control"]
    assert sorted(control) == sorted(
        r.member_id for r in rows if in_control(campaign.id, r.member_id, 0.5)
    )
    now = app.clock.now()
    # Half the treated buy within the window; one control member buys; a purchase after the
    # window and one before the message count for nothing.
    buyers = treated[: len(treated) // 2]
    for i, member_id in enumerate(buyers):
        await add_receipt(
            app, f"T{i}", member_id, shop.shanghai, now + timedelta(days=3), "100.00"
        )
    await add_receipt(app, "C1", control[0], shop.shanghai, now + timedelta(days=1), "50.00")
    await add_receipt(app, "LATE", control[1], shop.shanghai, now + timedelta(days=15), "70.00")
    await add_receipt(app, "EARLY", control[2], shop.shanghai, now - timedelta(days=1), "70.00")
    async with app.engine.begin() as conn:  # what the sender did with the messages
        await conn.execute(
            update(outbox).where(outbox.c.member_id == treated[0]).values(status="failed")
        )
        await conn.execute(
            update(outbox).where(outbox.c.member_id.in_(treated[1:])).values(status="sent")
        )

    async with app.uow_factory() as uow:
        report = await campaign_report(uow, app.policy, campaign.id, now)
    assert report.delivery == {"failed": 1, "sent": len(treated) - 1}
    assert report.treated.members == len(treated) and report.treated.buyers == len(buyers)
    assert report.treated.revenue == Decimal("100.00") * len(buyers)
    assert report.control.members == len(control) and report.control.buyers == 1
    assert report.control.revenue == Decimal("50.00")
    assert report.coupons_issued == len(treated) and report.coupons_redeemed == 0
    assert report.uplift is not None
    assert report.uplift.difference == len(buyers) / len(treated) - 1 / len(control)
    assert not report.uplift.conclusive  # 20 a side is too few to conclude


async def test_the_report_says_who_was_skipped_and_why(app: App) -> None:
    shop = await seed_stores(app)
    await add_member(app, "1", store=shop.shanghai, chat=501, consent=True)
    await add_member(app, "2", store=shop.shanghai, chat=502, consent=False)
    campaign = await new_campaign(
        app, campaign_toml(extra="control_share = 0", audience="consent = false")
    )
    assert campaign.id is not None
    await start_and_send(app, campaign)
    async with app.engine.begin() as conn:
        await conn.execute(
            update(outbox).values(
                status="skipped",
                last_error="frequency cap: 2 marketing messages in 7 days (cap 2)",
            )
        )
    async with app.uow_factory() as uow:
        report = await campaign_report(uow, app.policy, campaign.id, app.clock.now())
    assert report.skipped == {"no marketing consent": 1, "frequency cap": 1}
