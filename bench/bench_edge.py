"""What hardening the edge costs per message: cleaning the text and claiming the update id,
against handling the message itself (the baseline), in the same run on the same database.

    PYTHONPATH=. python bench/bench_edge.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.bootstrap import build_app
from bot.config import Settings
from bot.telegram.updates import first_delivery
from domain.members.model import ChatUser, Member, Store
from handlers.cleaning import clean_inbound
from handlers.types import Inbound, InboundKind

TEXTS = (
    "我的积分还有多少", "my points please", "牛奶过期了，我要投诉", "/points",
    "the bread at the\x00 till was\x1b[D stale", "再见\r\n谢谢", "🙂 ok", "x" * 400,
)


@dataclass
class Figures:
    handle: float
    clean: float
    claim: float


async def measure(messages: int) -> Figures:
    folder = Path(tempfile.mkdtemp(prefix="rb_bench_edge_"))
    app = await build_app(Settings(database_url=f"sqlite+aiosqlite:///{folder}/edge.db",
                                   bot_token="5550123:AAE-bench-edge-token-abcdefghij"))
    try:
        async with app.uow_factory() as uow:
            store = await uow.stores.add(Store("SH01", "Shanghai", "Asia/Shanghai"))
            member = await uow.members.add(Member(
                "100001", "Li Lei", "+8613800138000", datetime(2025, 1, 1, tzinfo=UTC),
                home_store_id=store.id,
            ))
            await uow.chat_users.save(ChatUser("telegram", "42", "42", member_id=member.id))
            await uow.commit()
        inbounds = [
            Inbound("telegram", "42", "42", InboundKind.TEXT, payload=TEXTS[i % len(TEXTS)])
            for i in range(messages)
        ]
        started = time.perf_counter()
        for inbound in inbounds:  # the baseline: the conversation answering each message
            await app.conversation.handle(inbound)
        handle = (time.perf_counter() - started) / messages

        started = time.perf_counter()
        for _ in range(10):
            for inbound in inbounds:
                clean_inbound(inbound)
        clean = (time.perf_counter() - started) / (messages * 10)

        started = time.perf_counter()
        for update_id in range(messages):
            await first_delivery(app, 1_000_000 + update_id)
        claim = (time.perf_counter() - started) / messages
    finally:
        await app.close()
    return Figures(handle, clean, claim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    figures = asyncio.run(measure(args.messages))
    base = figures.handle
    print(f"{args.messages} messages on SQLite")
    print(f"  handling a message (baseline)  {base * 1e6:9.1f} µs")
    print(f"  cleaning its text at the edge  {figures.clean * 1e6:9.1f} µs  "
          f"({figures.clean / base:.2%} of the baseline)")
    print(f"  claiming its update id         {figures.claim * 1e6:9.1f} µs  "
          f"({figures.claim / base:.2%} of the baseline)")


if __name__ == "__main__":
    main()
