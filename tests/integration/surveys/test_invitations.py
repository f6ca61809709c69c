"""Who is invited to a survey, when, and how often: purchases, segments and closed tickets."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.bootstrap import App
from domain.surveys.rules import sampled
from domain.surveys.services import invite_segment
from scheduler.jobs.surveys import invite_after_purchases
from tests.support.coupons import add_member, outbox_rows, seed_stores
from tests.support.surveys import add_receipt, every_purchase, hours, invitations


async def test_a_purchase_is_asked_about_hours_later_and_only_once(any_app: App) -> None:
    app, clock = any_app, any_app.clock
    policy = every_purchase(app.policy)
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=501)
    assert member.id is not None
    bought = clock.now() - hours(1)  # 17:00 in Shanghai
    await add_receipt(app, "R1", member.id, shop.shanghai, bought)

    run = await invite_after_purchases(app.uow_factory, policy, clock.now())
    assert run.invited == 0 and await invitations(app) == []  # not two hours yet

    clock.advance(hours(1.5))
    run = await invite_after_purchases(app.uow_factory, policy, clock.now())
    assert run.invited == 1
    (invitation,) = await invitations(app)
    assert invitation.dedupe_key == "survey:receipt:R1" and invitation.trigger == "receipt"
    assert invitation.store_id == shop.shanghai.id and invitation.category == "purchase"
    assert invitation.survey_key == "csat" and invitation.month == "2026-06"
    (row,) = await outbox_rows(app)
    assert row.dedupe_key == "survey:receipt:R1" and row.kind == "service" and row.quiet_hours
    assert row.message_key == "surveys.invite" and row.chat_id == "501"
    assert "Shanghai People's Square" in row.params["question"]["en"]
    assert [b["text"] for b in row.buttons[0]] == ["1", "2", "3", "4", "5"]
    assert row.buttons[0][0]["data"] == f"sv:{invitation.id}:1:{invitation.token}"

    clock.advance(hours(3))  # a rerun, a second scheduler: nothing new
    again = await invite_after_purchases(app.uow_factory, policy, clock.now())
    assert again.invited == 0 and again.repeated == 1
    assert len(await outbox_rows(app)) == 1


async def test_the_sample_is_picked_by_receipt_number(any_app: App) -> None:
    app, clock = any_app, any_app.clock
    policy = every_purchase(app.policy)
    policy = replace(policy, surveys=replace(policy.surveys, purchase_sample_percent=50.0))
    shop = await seed_stores(app)
    numbers = []
    for n in range(1, 31):
        member = await add_member(app, str(n), store=shop.shanghai, chat=600 + n)
        assert member.id is not None
        await add_receipt(app, f"SH01-{n:05d}", member.id, shop.shanghai, clock.now() - hours(3))
        numbers.append(f"SH01-{n:05d}")

    await invite_after_purchases(app.uow_factory, policy, clock.now())
    invited = {row.trigger_ref for row in await invitations(app)}
    assert invited == {n for n in numbers if sampled(n, 50.0)}
    assert 5 < len(invited) < 25


async def test_one_invitation_per_member_whatever_the_trigger(any_app: App) -> None:
    app, clock = any_app, any_app.clock
    policy = every_purchase(app.policy)
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=501)
    other = await add_member(app, "2", store=shop.shanghai, chat=502)
    assert member.id is not None and other.id is not None
    # Two purchases the same afternoon: one invitation.
    await add_receipt(app, "R1", member.id, shop.shanghai, clock.now() - hours(4))
    await add_receipt(app, "R2", member.id, shop.shanghai, clock.now() - hours(3))
    run = await invite_after_purchases(app.uow_factory, policy, clock.now())
    assert run.invited == 1
    assert [r.trigger_ref for r in await invitations(app)] == ["R1"]

    # A campaign wave a week later skips the member asked after the purchase.
    clock.advance(timedelta(days=7))
    async with app.uow_factory() as uow:
        wave = await invite_segment(uow, policy, [member.id, other.id], "nps", clock.now(),
                                    label="june-wave")
        await uow.commit()
    assert wave.invited == 1 and wave.limited == 1 and wave.members == [other.id]

    # Their next purchase within the 30 days is not asked about either...
    await add_receipt(app, "R3", other.id, shop.shanghai, clock.now() - hours(3))
    run = await invite_after_purchases(app.uow_factory, policy, clock.now())
    assert run.invited == 0 and run.limited >= 1

    # ...but 30 days after the first invitation the member may be asked again.
    clock.advance(timedelta(days=24))
    await add_receipt(app, "R4", member.id, shop.shanghai, clock.now() - hours(3))
    run = await invite_after_purchases(app.uow_factory, policy, clock.now())
    assert run.invited == 1
    assert [r.trigger_ref for r in await invitations(app)] == ["R1", "june-wave", "R4"]

    async with app.uow_factory() as uow:  # the same wave again invites nobody twice
        again = await invite_segment(uow, policy, [member.id, other.id], "nps", clock.now(),
                                     label="june-wave")
        await uow.commit()
    assert again.invited == 0 and again.repeated == 1


async def test_members_who_cannot_or_should_not_be_asked_are_left_out(any_app: App) -> None:
    app, clock = any_app, any_app.clock
    policy = every_purchase(app.policy)
    shop = await seed_stores(app)
    stopped = await add_member(app, "1", store=shop.shanghai, chat=501, opted_out=True)
    no_chat = await add_member(app, "2", store=shop.shanghai)
    blocked = await add_member(app, "3", store=shop.shanghai, chat=503, reachable=False)
    refund = await add_member(app, "4", store=shop.shanghai, chat=504)
    stale = await add_member(app, "5", store=shop.shanghai, chat=505)
    for n, who in enumerate((stopped, no_chat, blocked), start=1):
        assert who.id is not None
        await add_receipt(app, f"R{n}", who.id, shop.shanghai, clock.now() - hours(3))
    assert refund.id is not None and stale.id is not None
    await add_receipt(app, "R4", refund.id, shop.shanghai, clock.now() - hours(3), "-20.00")
    await add_receipt(app, "R5", stale.id, shop.shanghai, clock.now() - hours(30))

    run = await invite_after_purchases(app.uow_factory, policy, clock.now())
    assert run.invited == 0 and run.unreachable == 3  # the refund and the stale visit: unseen
    assert await invitations(app) == [] and await outbox_rows(app) == []


async def test_a_marketing_survey_needs_consent(any_app: App) -> None:
    app, clock = any_app, any_app.clock
    policy = every_purchase(app.policy, message_kind="marketing")
    shop = await seed_stores(app)
    yes = await add_member(app, "1", store=shop.shanghai, chat=501, consent=True)
    no = await add_member(app, "2", store=shop.shanghai, chat=502)
    assert yes.id is not None and no.id is not None
    async with app.uow_factory() as uow:
        run = await invite_segment(uow, policy, [yes.id, no.id], "nps", clock.now(), label="w1")
        await uow.commit()
    assert run.invited == 1 and run.unreachable == 1
    (row,) = await outbox_rows(app)
    assert row.kind == "marketing" and row.member_id == yes.id
