"""Ticket storage on SQLite and PostgreSQL: round trips, the derived columns the queue and the
follow-up job walk, the audit filters, group topics, and migration 0003 over existing data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import text

from bot.bootstrap import App
from domain.members.model import Member
from domain.messaging.model import ChatTopic, MessageKind, OutboxMessage
from domain.shared.outbox import queue_message
from domain.tickets.model import AuditEntry, Author, TicketMessage, TicketStatus, new_ticket
from storage.engine import create_engine
from storage.migrate import alembic_config, is_current, upgrade

T0 = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


async def _member(app: App, number: str = "1") -> int:
    async with app.uow_factory() as uow:
        member = await uow.members.add(Member(number, f"Member {number}", None, T0))
        await uow.commit()
    assert member.id is not None
    return member.id


async def _ticket_on_file(app: App) -> tuple[int, int]:
    """A member and a plain ticket of theirs, both stored; their ids."""
    member_id = await _member(app)
    ticket = new_ticket(member_id=member_id, category="other", description="x", at=T0,
                        policy=app.policy.tickets)
    async with app.uow_factory() as uow:
        await uow.tickets.add(ticket)
        await uow.commit()
    assert ticket.id is not None
    return member_id, ticket.id


async def test_a_ticket_round_trips_with_its_clock_columns(any_app: App) -> None:
    member_id = await _member(any_app)
    policy = any_app.policy.tickets
    ticket = new_ticket(member_id=member_id, category="quality", description="sour", at=T0,
                        policy=policy, tags=("milk",))
    ticket.next_check_at = ticket.next_check(policy)
    async with any_app.uow_factory() as uow:
        await uow.tickets.add(ticket)
        await uow.commit()
    assert ticket.id is not None
    async with any_app.uow_factory() as uow:
        loaded = await uow.tickets.get(ticket.id, lock=True)
        assert loaded == ticket
        assert await uow.tickets.queue(5) == [ticket]
        counts = await uow.tickets.queue_counts(T0 + timedelta(hours=2))
        assert (counts.active, counts.breached, counts.unassigned) == (1, 1, 1)
        assert await uow.tickets.due_for_check(T0 + timedelta(minutes=47), 10) == []
        assert await uow.tickets.due_for_check(T0 + timedelta(minutes=48), 10) == [ticket.id]

        ticket.resolve(T0 + timedelta(minutes=30))
        ticket.next_check_at = ticket.next_check(policy)
        await uow.tickets.save(ticket)
        await uow.commit()
    async with any_app.uow_factory() as uow:
        assert await uow.tickets.queue(5) == []  # a resolved ticket leaves the queue
        assert (await uow.tickets.queue_counts(T0)).active == 0
        assert await uow.tickets.active_for_member(member_id) == []
        (mine,) = await uow.tickets.for_member(member_id, 5)
    assert mine.status is TicketStatus.RESOLVED and mine.tags == ("milk",)


async def test_the_thread_keeps_its_order_and_the_last_entries(any_app: App) -> None:
    _member_id, ticket_id = await _ticket_on_file(any_app)
    async with any_app.uow_factory() as uow:
        for i in range(5):
            await uow.tickets.add_message(
                TicketMessage(ticket_id, Author.STAFF, f"m{i}", T0 + timedelta(minutes=i),
                              internal=i == 2, photo_file_id="AgAC" if i == 4 else None)
            )
        await uow.commit()
    async with any_app.uow_factory() as uow:
        last = await uow.tickets.messages(ticket_id, 3)
    assert [m.text for m in last] == ["m2", "m3", "m4"]
    assert last[0].internal and last[2].photo_file_id == "AgAC"


async def test_the_audit_is_found_by_ticket_actor_and_time(any_app: App) -> None:
    member_id, ticket_id = await _ticket_on_file(any_app)
    async with any_app.uow_factory() as uow:
        for minutes, actor, action in ((0, "staff:1", "ticket.view"),
                                       (10, "staff:2", "ticket.reply"),
                                       (20, "staff:1", "member.view")):
            await uow.audit.add(AuditEntry(
                actor, action, T0 + timedelta(minutes=minutes),
                ticket_id=ticket_id if action.startswith("ticket") else None,
                member_id=member_id,
            ))
        await uow.commit()
    async with any_app.uow_factory() as uow:
        assert [e.action for e in await uow.audit.find()] == [
            "ticket.view", "ticket.reply", "member.view"]
        assert [e.action for e in await uow.audit.find(actor="staff:1")] == [
            "ticket.view", "member.view"]
        assert [e.action for e in await uow.audit.find(ticket_id=ticket_id)] == [
            "ticket.view", "ticket.reply"]
        late = await uow.audit.find(since=T0 + timedelta(minutes=5), limit=1)
        assert [e.action for e in late] == ["member.view"]  # the latest, within the limit


async def test_a_topic_is_recorded_once_and_leads_back_from_threads_and_messages(
    any_app: App,
) -> None:
    async with any_app.uow_factory() as uow:
        first = await uow.outbox.save_topic(ChatTopic("-100", "ticket:1", "77", None), T0)
        again = await uow.outbox.save_topic(ChatTopic("-100", "ticket:1", "78", None), T0)
        assert first == again == ChatTopic("-100", "ticket:1", "77", None)
        await uow.outbox.set_topic_anchor("-100", "ticket:1", "500")
        await uow.outbox.set_topic_anchor("-100", "ticket:1", "501")  # the first one stays
        await queue_message(uow, OutboxMessage("k", "-100", MessageKind.SERVICE, text="card",
                                               topic="ticket:1"), T0)
        row = await uow.outbox.get_by_dedupe_key("k")
        assert row is not None and row.id is not None
        await uow.outbox.mark_sent(row.id, T0, "500")
        await uow.commit()
    async with any_app.uow_factory() as uow:
        assert (await uow.outbox.topic("-100", "ticket:1")) == ChatTopic(
            "-100", "ticket:1", "77", "500")
        assert await uow.outbox.topic_of_thread("-100", "77") == "ticket:1"
        assert await uow.outbox.topic_of_thread("-200", "77") is None
        assert await uow.outbox.topic_of_message("-100", "500") == "ticket:1"
        assert await uow.outbox.topic_of_message("-100", "499") is None


async def test_migration_0003_keeps_the_outbox_and_goes_back_cleanly(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0002")
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO outbox (dedupe_key, chat_id, kind, params, buttons, next_attempt_at,"
                " created_at) VALUES ('old', '42', 'service', '{}', '[]', :t, :t)"
            ), {"t": T0.replace(tzinfo=None)})
        await upgrade(engine)
        assert await is_current(engine)
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT dedupe_key, topic, sent_message_id FROM outbox"))).one()
        assert tuple(row) == ("old", None, None)

        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0002"))
        async with engine.connect() as conn:
            tables = await conn.run_sync(
                lambda sync: set(sync.dialect.get_table_names(sync))
            )
            kept = await conn.scalar(text("SELECT count(*) FROM outbox"))
        assert "tickets" not in tables and "audit_log" not in tables and kept == 1
    finally:
        await engine.dispose()
        await asyncio.sleep(0)
