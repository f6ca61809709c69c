"""What Telegram answers becomes the same domain SendError on both frameworks, for a reply and for
an outbox message alike: each framework has one mapping, and both senders use it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from aiogram import exceptions as aiogram_errors
from aiogram.methods import SendMessage
from telegram import error as ptb_errors

from bot.telegram import aiogram as telegram_aiogram
from bot.telegram import ptb as telegram_ptb
from bot.telegram.replies import EditResult, Part
from domain.messaging.ports import (
    ChatUnreachable,
    MessageRejected,
    RateLimited,
    SendError,
    TransientSendError,
)

_METHOD = SendMessage(chat_id=1, text="x")

# What Telegram answered, as each framework raises it.
ANSWERS: dict[str, dict[str, Callable[[], Exception]]] = {
    "aiogram": {
        "blocked": lambda: aiogram_errors.TelegramForbiddenError(
            _METHOD, "Forbidden: bot was blocked by the user"
        ),
        "slow down": lambda: aiogram_errors.TelegramRetryAfter(
            _METHOD, "Too Many Requests: retry after 5", 5
        ),
        "not modified": lambda: aiogram_errors.TelegramBadRequest(
            _METHOD, "Bad Request: message is not modified"
        ),
        "too old": lambda: aiogram_errors.TelegramBadRequest(
            _METHOD, "Bad Request: message can't be edited"
        ),
        "chat gone": lambda: aiogram_errors.TelegramBadRequest(
            _METHOD, "Bad Request: chat not found"
        ),
        "moved": lambda: aiogram_errors.TelegramMigrateToChat(
            _METHOD, "Bad Request: group chat was upgraded", -100123
        ),
        "network": lambda: aiogram_errors.TelegramNetworkError(_METHOD, "connection reset"),
    },
    "ptb": {
        "blocked": lambda: ptb_errors.Forbidden("Forbidden: bot was blocked by the user"),
        "slow down": lambda: ptb_errors.RetryAfter(5),
        "not modified": lambda: ptb_errors.BadRequest("Bad Request: message is not modified"),
        "too old": lambda: ptb_errors.BadRequest("Bad Request: message can't be edited"),
        "chat gone": lambda: ptb_errors.BadRequest("Bad Request: chat not found"),
        "moved": lambda: ptb_errors.ChatMigrated(-100123),
        "network": lambda: ptb_errors.NetworkError("connection reset"),
    },
}
MEANS: dict[str, type[SendError]] = {
    "blocked": ChatUnreachable,
    "slow down": RateLimited,
    "not modified": MessageRejected,
    "too old": MessageRejected,
    "chat gone": ChatUnreachable,
    "moved": MessageRejected,
    "network": TransientSendError,
}
MODULES = {"aiogram": telegram_aiogram, "ptb": telegram_ptb}


def answer(engine: str, what: str) -> Exception:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB deprecates an int retry_after
        return ANSWERS[engine][what]()


class Refusing:
    """A framework Bot whose every call fails with what Telegram answered."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error

    async def send_photo(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error

    async def edit_message_text(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize("engine", MODULES)
@pytest.mark.parametrize("what", MEANS)
def test_each_framework_answer_maps_to_one_domain_error(engine: str, what: str) -> None:
    error = MODULES[engine].send_error(answer(engine, what))
    assert type(error) is MEANS[what]
    if isinstance(error, RateLimited):
        assert error.retry_after == 5.0


@pytest.mark.parametrize("engine", MODULES)
@pytest.mark.parametrize("what", ["blocked", "slow down", "chat gone", "network"])
async def test_a_reply_and_an_outbox_message_fail_the_same_way(engine: str, what: str) -> None:
    module = MODULES[engine]
    sender_class = module.AiogramSender if engine == "aiogram" else module.PtbSender
    messenger_class = module.AiogramMessenger if engine == "aiogram" else module.PtbMessenger
    with pytest.raises(MEANS[what]) as reply_failed:
        await sender_class(Refusing(answer(engine, what))).send("42", Part(text="hello"))
    with pytest.raises(MEANS[what]) as outbox_failed:
        await messenger_class(Refusing(answer(engine, what))).send_text("42", "hello")
    assert str(reply_failed.value) == str(outbox_failed.value)


@pytest.mark.parametrize("engine", MODULES)
async def test_an_edit_that_changes_nothing_is_done_and_a_stale_one_falls_back(
    engine: str,
) -> None:
    module = MODULES[engine]
    sender_class = module.AiogramSender if engine == "aiogram" else module.PtbSender
    part = Part(text="hello")
    unchanged = sender_class(Refusing(answer(engine, "not modified")))
    assert await unchanged.edit("42", "7", part) is EditResult.UNCHANGED
    stale = sender_class(Refusing(answer(engine, "too old")))
    assert await stale.edit("42", "7", part) is EditResult.FAILED
    with pytest.raises(ChatUnreachable):
        await sender_class(Refusing(answer(engine, "blocked"))).edit("42", "7", part)
