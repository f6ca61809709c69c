"""The survey after a complaint ticket is closed: it replaces the ticket's own rating question,
its answer rates the ticket, and it follows its own frequency rule."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import App
from domain.staff.model import Role, StaffMember
from domain.surveys.services import answer_survey, invite_segment
from domain.tickets.model import Desk, StaffAction, Ticket
from domain.tickets.services import act_on_ticket, open_ticket
from scheduler.jobs.surveys import invite_after_purchases
from tests.support.coupons import add_member, outbox_rows, seed_stores
from tests.support.surveys import (
    add_receipt,
    answers,
    every_purchase,
    hours,
    invitations,
    press,
    use_policy,
)

MEI = 501
STAFF_GROUP = "-1001234567890"
DESK = Desk(STAFF_GROUP)


async def _closed_ticket(app: App, *, tags: tuple[str, ...] = ()) -> tuple[Ticket, int]:
    """Member 1 of SH01 complains about quality; an agent closes the ticket."""
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=MEI)
    assert member.id is not None
    async with app.uow_factory() as uow:
        agent = await uow.staff.save(StaffMember("6001", Role.AGENT, "Wang"))
        ticket = await open_ticket(
            uow, app.policy, DESK, member, category="quality", description="Sour milk",
            now=app.clock.now(), store_id=shop.shanghai.id, tags=tags,
        )
        await uow.commit()
    assert ticket.id is not None
    app.clock.advance(hours(5))
    async with app.uow_factory() as uow:
        await act_on_ticket(uow, app.policy, DESK, ticket.id, agent, StaffAction.CLOSE,
                            app.clock.now())
        await uow.commit()
    return ticket, member.id


async def test_closing_a_ticket_asks_the_service_survey_and_its_answer_rates_it(
    any_app: App,
) -> None:
    app = any_app
    app.conversation.deps.desk = DESK
    ticket, _member_id = await _closed_ticket(app)
    to_member = [r for r in await outbox_rows(app) if r.chat_id == str(MEI)]
    notice, invite = to_member
    assert notice.message_key == "ticket.closed_notice" and notice.buttons == []
    assert invite.dedupe_key == "survey:ticket:1" and invite.message_key == "surveys.invite"
    assert "T-000001" in invite.params["question"]["en"] and invite.quiet_hours
    (invitation,) = await invitations(app)
    assert invitation.trigger == "ticket" and invitation.trigger_ref == str(ticket.id)
    assert invitation.category == "quality" and invitation.store_id == ticket.store_id
    assert invitation.survey_key == "service"

    await press(app, invite.buttons[0][3]["data"], user=MEI)  # 4 out of 5
    async with app.uow_factory() as uow:
        rated = await uow.tickets.get(1)
    assert rated is not None and rated.satisfaction == 4
    staff = [r.message_key for r in await outbox_rows(app) if r.chat_id == STAFF_GROUP]
    assert staff[-1] == "desk.rated"
    (answer,) = await answers(app)
    assert answer.category == "quality" and answer.recovery_ticket_id is None


async def test_a_member_who_answered_lately_is_not_asked_about_the_ticket(any_app: App) -> None:
    app = any_app
    use_policy(app, every_purchase(app.policy))
    shop = await seed_stores(app)
    member = await add_member(app, "1", store=shop.shanghai, chat=MEI)
    assert member.id is not None
    await add_receipt(app, "R1", member.id, shop.shanghai, app.clock.now() - hours(3))
    await invite_after_purchases(app.uow_factory, app.policy, app.clock.now())
    (invitation,) = await invitations(app)
    async with app.uow_factory() as uow:
        outcome = await answer_survey(uow, app.policy, invitation.id, 5, invitation.token,
                                      member, app.clock.now())
        ticket = await open_ticket(uow, app.policy, DESK, member, category="billing",
                                   description="Charged twice", now=app.clock.now())
        agent = await uow.staff.save(StaffMember("6001", Role.AGENT, "Wang"))
        await uow.commit()
    assert outcome.answer is not None and ticket.id is not None
    app.clock.advance(timedelta(days=2))
    async with app.uow_factory() as uow:
        await act_on_ticket(uow, app.policy, DESK, ticket.id, agent, StaffAction.CLOSE,
                            app.clock.now())
        await uow.commit()
    assert len(await invitations(app)) == 1  # answered 2 days ago: not asked again


async def test_a_ticket_survey_counts_towards_the_limit_but_ignores_it(any_app: App) -> None:
    app = any_app
    use_policy(app, every_purchase(app.policy))
    ticket, member_id = await _closed_ticket(app)
    # Invited (not answered) about the ticket: a campaign wave and a purchase now skip them.
    async with app.uow_factory() as uow:
        wave = await invite_segment(uow, app.policy, [member_id], "nps", app.clock.now(),
                                    label="wave")
        store = await uow.stores.get_by_code("SH01")
        await uow.commit()
    assert wave.limited == 1
    assert store is not None
    await add_receipt(app, "R9", member_id, store, app.clock.now() - hours(3))
    run = await invite_after_purchases(app.uow_factory, app.policy, app.clock.now())
    assert run.invited == 0 and run.limited == 1
    assert [r.trigger for r in await invitations(app)] == ["ticket"]


async def test_closing_a_call_back_ticket_asks_nothing(any_app: App) -> None:
    app = any_app
    await _closed_ticket(app, tags=("survey",))
    assert await invitations(app) == []
    keys = [r.message_key for r in await outbox_rows(app) if r.chat_id == str(MEI)]
    assert keys == ["ticket.closed_notice"]
