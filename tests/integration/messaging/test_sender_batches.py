"""The sender claims due rows in batches and sends them concurrently: what a crash can leave
`unknown` is bounded by its claim window, nothing is sent twice, a busy staff group hears of an
SLA breach first, and a chat's messages keep their order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.bootstrap import App, build_sender
from domain.messaging.model import MessageKind, OutboxMessage
from domain.messaging.policy import DeliveryPolicy
from domain.messaging.ports import Buttons
from domain.shared.outbox import queue_message
from domain.shared.policy import Policy
from tests.support.coupons import FakeMessenger, outbox_rows

FAST = Policy(delivery=DeliveryPolicy(rate_per_second=1000, per_chat_interval=0.01,
                                      quiet_start=None, quiet_end=None))
STAFF_GROUP = "-1001234"


@dataclass
class StuckMessenger:
    """A messenger whose calls never return (the process dies while they wait)."""

    started: list[str] = field(default_factory=list)
    forever: asyncio.Event = field(default_factory=asyncio.Event)

    async def send_text(
        self, chat_id: str, text: str, photo: bytes | None = None, buttons: Buttons = ()
    ) -> None:
        self.started.append(chat_id)
        await self.forever.wait()

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, buttons: Buttons = ()
    ) -> None:
        await self.forever.wait()


async def _queue_texts(app: App, items: list[tuple[str, str, str | None]]) -> None:
    """Queue (dedupe key, chat, message key or None for a text) rows, in this order."""
    async with app.uow_factory() as uow:
        for key, chat, message_key in items:
            message = (
                OutboxMessage(key, chat, MessageKind.SERVICE, message_key=message_key,
                              language="en")
                if message_key
                else OutboxMessage(key, chat, MessageKind.SERVICE, text=key, language="en")
            )
            await queue_message(uow, message, app.clock.now())
        await uow.commit()


async def test_a_crash_mid_batch_leaves_at_most_the_claimed_window_unknown(
    any_app: App,
) -> None:
    await _queue_texts(any_app, [(f"m{i}", str(700_000 + i), None) for i in range(100)])
    any_app.policy = FAST
    stuck = StuckMessenger()
    sender = build_sender(any_app, stuck, batch_size=20, max_in_flight=8)
    started = await sender.step()
    assert started.started == 20  # one transaction claimed a whole batch ...
    for _ in range(50):  # ... whose sends run concurrently, bounded by max_in_flight
        if len(stuck.started) >= 8:
            break
        await asyncio.sleep(0.01)
    assert len(stuck.started) == 8
    counts = {}
    for row in await outbox_rows(any_app):
        counts[row.status] = counts.get(row.status, 0) + 1
    assert counts == {"sending": 20, "pending": 80}
    assert (await sender.step()).started == 0  # a full window claims nothing more
    for task in list(sender._tasks):  # the process dies here
        task.cancel()
    await asyncio.gather(*sender._tasks, return_exceptions=True)

    after = build_sender(any_app, FakeMessenger())
    assert await after.recover() == 20
    await after.drain(max_seconds=20)
    statuses = [row.status for row in await outbox_rows(any_app)]
    assert statuses.count("unknown") == 20 and statuses.count("sent") == 80
    assert len(after.messenger.sent) == 80  # type: ignore[attr-defined]
    assert not {s.chat_id for s in after.messenger.sent} & set(stuck.started)  # type: ignore[attr-defined]


async def test_the_staff_group_hears_of_an_sla_breach_before_routine_notices(
    any_app: App,
) -> None:
    notices = [(f"notice:{i}", STAFF_GROUP, None) for i in range(3)]
    breach = [("ticket:7:sla:first_response:breach", STAFF_GROUP,
               "desk.sla_breach.first_response")]
    await _queue_texts(any_app, notices + breach)
    any_app.policy = FAST
    messenger = FakeMessenger()
    sender = build_sender(any_app, messenger)
    await sender.drain(max_seconds=20)
    assert len(messenger.to(STAFF_GROUP)) == 4
    assert "notice" not in messenger.to(STAFF_GROUP)[0].text
    assert [s.text for s in messenger.to(STAFF_GROUP)[1:]] == [k for k, _, _ in notices]


async def test_one_chats_messages_go_in_order_one_at_a_time(any_app: App) -> None:
    await _queue_texts(any_app, [(f"line {i}", "501", None) for i in range(5)]
                       + [(f"other {i}", str(600 + i), None) for i in range(30)])
    any_app.policy = FAST
    messenger = FakeMessenger()
    sender = build_sender(any_app, messenger, batch_size=16)
    stats = await sender.drain(max_seconds=20)
    assert stats.sent == 35
    assert [s.text for s in messenger.to("501")] == [f"line {i}" for i in range(5)]
    assert {row.status for row in await outbox_rows(any_app)} == {"sent"}
