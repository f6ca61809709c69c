"""Updates Telegram delivers twice are handled once; a body nested too deep is a 400, not a 500."""

from __future__ import annotations

import aiohttp
from sqlalchemy import func, select

from bot.bootstrap import App
from storage.members.tables import chat_users
from storage.updates.tables import handled_updates
from tests.e2e.conftest import MEI, ErrorLog
from tests.e2e.test_webhook import SECRET, Worker, worker  # noqa: F401 - the worker fixture
from tests.support.standin import BotApiStandIn

DEPTH = 200_000


async def _complain_twice(standin: BotApiStandIn) -> None:
    mei = standin.user(MEI, "Mei", language_code="en")
    for text in ("/start", "hello there"):
        update = standin.make_update({"message": standin.new_message(mei, text)})
        standin.deliver(update)
        standin.deliver(update)  # the same update_id again: a redelivery


async def test_a_polled_update_delivered_twice_is_handled_once(
    polling_bot: App, standin: BotApiStandIn
) -> None:
    await _complain_twice(standin)
    answers = await standin.wait_for_messages(MEI, 3)  # welcome + contact request, one reply
    await standin.assert_quiet(MEI, settle=0.5)
    assert len(standin.outputs(MEI)) == len(answers)
    async with polling_bot.engine.connect() as conn:
        handled = (await conn.execute(select(func.count()).select_from(handled_updates))).one()
    assert handled[0] == 2


async def test_a_webhook_update_redelivered_is_handled_once(
    worker: Worker, standin: BotApiStandIn  # noqa: F811
) -> None:
    mei = standin.user(MEI, "Mei", language_code="en")
    update = standin.make_update({"message": standin.new_message(mei, "/start")})
    assert await standin.post_update(worker.url, update, secret=SECRET) == 200
    first = len(await standin.wait_for_messages(MEI, 2))
    assert await standin.post_update(worker.url, update, secret=SECRET) == 200
    await standin.assert_quiet(MEI, settle=0.5)
    assert len(standin.outputs(MEI)) == first
    async with worker.app.engine.connect() as conn:
        accounts = (await conn.execute(select(func.count()).select_from(chat_users))).one()
    assert accounts[0] == 1


async def test_a_webhook_body_nested_200000_deep_is_refused_with_400(
    worker: Worker, standin: BotApiStandIn, bot_errors: ErrorLog  # noqa: F811
) -> None:
    deep = ("[" * DEPTH + "]" * DEPTH).encode()
    deep_object = '{"update_id": 1, "message": ' + "[" * DEPTH + "]" * DEPTH + "}"
    async with aiohttp.ClientSession() as client:
        for body in (deep, deep_object.encode()):
            async with client.post(
                worker.url, data=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            ) as response:
                assert response.status == 400
    assert not bot_errors.unexpected()
