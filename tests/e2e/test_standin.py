"""The Bot API stand-in itself answers like Telegram where the frameworks depend on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.standin import TOKEN, BotApiStandIn


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def call(
    client: aiohttp.ClientSession, standin: BotApiStandIn, method: str, token: str = TOKEN,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    url = f"{standin.base_url}/bot{token}/{method}"
    async with client.post(url, json=params) as response:
        return response.status, await response.json()


async def test_get_me_describes_a_bot(
    standin: BotApiStandIn, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{standin.base_url}/bot{TOKEN}/getMe") as response:
        body = await response.json()
    assert body["ok"] is True
    assert body["result"]["is_bot"] is True
    assert {"id", "first_name", "username"} <= body["result"].keys()


async def test_errors_have_telegrams_shape(
    standin: BotApiStandIn, client: aiohttp.ClientSession
) -> None:
    assert await call(client, standin, "sendTelepathy") == (
        404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
    status, body = await call(client, standin, "getMe", token="1:wrong")
    assert (status, body["error_code"]) == (401, 401)

    user = standin.user(42)
    standin.block(42)
    status, body = await call(client, standin, "sendMessage", chat_id=42, text="hi")
    assert (status, body) == (403, {"ok": False, "error_code": 403,
                                    "description": "Forbidden: bot was blocked by the user"})
    standin.unblock(42)

    standin.fail_next_with_retry_after(5)
    status, body = await call(client, standin, "sendMessage", chat_id=42, text="hi")
    assert (status, body) == (429, {"ok": False, "error_code": 429,
                                    "description": "Too Many Requests: retry after 5",
                                    "parameters": {"retry_after": 5}})
    status, body = await call(client, standin, "sendMessage", chat_id=user["id"], text="hi")
    assert status == 200 and body["result"]["from"]["is_bot"] is True
    assert body["result"]["date"] < 10**11  # seconds, not milliseconds


async def test_get_updates_waits_for_news_and_forgets_what_the_offset_confirms(
    standin: BotApiStandIn, client: aiohttp.ClientSession
) -> None:
    user = standin.user(42)

    started = time.monotonic()
    status, body = await call(client, standin, "getUpdates", timeout=1)
    assert body["result"] == [] and time.monotonic() - started >= 0.9  # waited, no spinning

    async def later() -> None:
        await asyncio.sleep(0.2)
        standin.send_text(user, "/start")

    typing = asyncio.create_task(later())
    started = time.monotonic()
    _status, body = await call(client, standin, "getUpdates", timeout=5)
    await typing
    assert time.monotonic() - started < 2  # answered as soon as the message came
    (update,) = body["result"]
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    standin.send_text(user, "two")
    _status, body = await call(client, standin, "getUpdates", limit=1)
    assert [u["update_id"] for u in body["result"]] == [update["update_id"]]  # not confirmed
    _status, body = await call(client, standin, "getUpdates", offset=update["update_id"] + 1)
    assert [u["message"]["text"] for u in body["result"]] == ["two"]


async def test_an_edit_without_the_keyboard_removes_it(
    standin: BotApiStandIn, client: aiohttp.ClientSession
) -> None:
    standin.user(42)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    _status, sent = await call(client, standin, "sendMessage", chat_id=42, text="menu",
                               reply_markup=markup)
    message_id = sent["result"]["message_id"]
    assert sent["result"]["reply_markup"] == markup

    _status, edited = await call(client, standin, "editMessageText", chat_id=42,
                                 message_id=message_id, text="done")
    assert edited["result"]["text"] == "done" and "reply_markup" not in edited["result"]
    status, again = await call(client, standin, "editMessageText", chat_id=42,
                               message_id=message_id, text="done")
    assert status == 400 and "message is not modified" in again["description"]


async def test_a_webhook_blocks_get_updates(
    standin: BotApiStandIn, client: aiohttp.ClientSession
) -> None:
    await call(client, standin, "setWebhook", url="https://shop.example/hook", secret_token="s")
    status, body = await call(client, standin, "getUpdates")
    assert status == 409 and body["description"].startswith("Conflict")
    await call(client, standin, "deleteWebhook")
    status, _body = await call(client, standin, "getUpdates")
    assert status == 200
