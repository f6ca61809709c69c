"""The outbox sender over HTTP against the Bot API stand-in, with aiogram's and PTB's messenger.

The stand-in answers 429 with retry_after and 403 for a chat that blocked the bot, exactly as
Telegram does; the sender must wait and retry, stop writing to the blocked chat, and deliver
every other message exactly once.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from bot.bootstrap import App, build_messenger, build_sender
from domain.members.model import ChatUser, Member
from domain.messaging.model import MessageKind, OutboxMessage
from domain.shared.outbox import queue_message
from storage.messaging.tables import outbox
from tests.support.standin import BotApiStandIn

CHATS = list(range(7001, 7013))
BLOCKED = 7004


async def _seed(app: App, standin: BotApiStandIn) -> None:
    now = app.clock.now()
    async with app.uow_factory() as uow:
        for chat in CHATS:
            standin.user(chat, f"Guest {chat}", language_code="en")
            member = await uow.members.add(Member(f"M{chat}", f"Guest {chat}", None, now))
            chat_user = await uow.chat_users.save(
                ChatUser("telegram", str(chat), str(chat), language="zh" if chat % 2 else "en",
                         member_id=member.id)
            )
            await queue_message(
                uow,
                OutboxMessage(
                    dedupe_key=f"hello:{chat}",
                    chat_id=str(chat),
                    chat_user_id=chat_user.id,
                    member_id=member.id,
                    kind=MessageKind.SERVICE,
                    message_key="coupons.expiry_reminder",
                    params={"name": {"en": "10 off", "zh": "立减 10 元"}, "code": "ABCD-EFGH",
                            "day": "2026-06-20"},
                    buttons=[[{"key": "coupons.show_button", "data": "cp:1"}]],
                ),
                now,
            )
        await uow.commit()


async def test_the_sender_waits_out_a_429_and_stops_at_a_block(
    shop: App, standin: BotApiStandIn, engine: str
) -> None:
    await _seed(shop, standin)
    standin.block(BLOCKED)
    standin.fail_next_with_retry_after(1, method="sendMessage")
    messenger = build_messenger(shop.settings)
    await messenger.start()
    try:
        sender = build_sender(shop, messenger)
        started = time.monotonic()
        stats = await sender.drain(max_seconds=30)
        elapsed = time.monotonic() - started
    finally:
        await messenger.close()

    t = shop.translator
    for chat in CHATS:
        outputs = standin.outputs(chat)
        if chat == BLOCKED:
            assert outputs == []
            continue
        assert len(outputs) == 1, (chat, [o.text for o in outputs])  # nothing lost, nothing twice
        lang = "zh" if chat % 2 else "en"
        name = "立减 10 元" if lang == "zh" else "10 off"
        assert outputs[0].text == t(lang, "coupons.expiry_reminder", name=name,
                                    code="ABCD-EFGH", day="2026-06-20")
        assert outputs[0].inline_buttons[0]["callback_data"] == "cp:1"

    statuses = [c.status for c in standin.calls_to("sendMessage")]
    assert statuses.count(429) == 1 and statuses.count(403) == 1
    assert stats.rate_limited == 1 and stats.sent == len(CHATS) - 1 and stats.failed == 1
    assert elapsed >= 1.0  # it waited the retry_after before sending again

    async with shop.engine.connect() as conn:
        rows = {r.dedupe_key: r for r in await conn.execute(select(outbox))}
    assert rows[f"hello:{BLOCKED}"].status == "failed"
    assert "blocked" in rows[f"hello:{BLOCKED}"].last_error
    assert {r.status for k, r in rows.items() if k != f"hello:{BLOCKED}"} == {"sent"}
    async with shop.uow_factory() as uow:
        blocked = await uow.chat_users.get("telegram", str(BLOCKED))
    assert blocked is not None and not blocked.reachable
