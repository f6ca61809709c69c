"""What both Telegram frameworks share for sending: the Bot API calls, for replies and outbox.

aiogram and python-telegram-bot name methods and arguments as the Bot API does, so the calls
are written once here, in `BotApi`; a framework module subclasses it with its own types and its
one error mapping, and mixes it into `BotApiSender` (replies) and `BotApiMessenger` (outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from bot.telegram.replies import (
    MAX_CAPTION,
    EditResult,
    Part,
    contact_button_text,
    is_not_modified,
    photo_filename,
    split_text,
    utf16_len,
)
from domain.messaging.ports import Buttons, ChatUnreachable, MessageRejected, SendError
from handlers.types import Keyboard

log = logging.getLogger(__name__)

# 400 answers that mean the chat is gone rather than the message being wrong.
_GONE = ("chat not found", "user is deactivated", "peer_id_invalid", "bot was kicked")


@dataclass(frozen=True)
class Call:
    """One Bot API call: a text, or a photo (bytes, or a file id) with an optional caption."""

    text: str
    photo: bytes | str | None = None
    buttons: Buttons = ()


def plan_calls(text: str, photo: bytes | str | None, buttons: Buttons) -> list[Call]:
    """A photo carries the text as caption when it fits; long texts are split; the buttons go on
    the last call, where the person is reading."""
    texts = split_text(text) if text else []
    calls: list[Call] = []
    if photo is not None:
        if len(texts) == 1 and utf16_len(texts[0]) <= MAX_CAPTION:
            calls.append(Call(texts[0], photo))
            texts = []
        else:
            calls.append(Call("", photo))
    calls.extend(Call(piece) for piece in texts)
    if not calls:
        raise ValueError("a message needs a text or a photo")
    if buttons:
        last = calls[-1]
        calls[-1] = Call(last.text, last.photo, buttons)
    return calls


def chat_is_gone(description: str) -> bool:
    """Whether a 400 description says the chat no longer exists for us."""
    lowered = description.lower()
    return any(marker in lowered for marker in _GONE)


class BotApi:
    """The Bot API calls both senders make; a framework's subclass fills in the hooks.

    What differs between aiogram and python-telegram-bot is only where the Bot API's types
    live, how a file is wrapped, and which exception means what; every call here turns what
    the framework raised into the domain's SendError subclasses, so only those leave it.
    """

    # The module holding the framework's classes named after the Bot API's types
    # (InlineKeyboardMarkup, ReplyParameters...): both frameworks take the Bot API's field names
    # as keyword arguments, so one call below builds either framework's value.
    types: ModuleType

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    # -- hooks: what only the framework knows ---------------------------------------------------

    def input_file(self, data: bytes, filename: str) -> Any:
        raise NotImplementedError

    def send_error(self, exc: Exception) -> SendError:
        """The domain's name for what the framework raised."""
        raise NotImplementedError

    # -- the Bot API's types --------------------------------------------------------------------

    def inline_markup(self, rows: Iterable[Iterable[tuple[str, str]]]) -> Any:
        """Inline buttons, given as rows of (label, callback data)."""
        button = self.types.InlineKeyboardButton
        return self.types.InlineKeyboardMarkup(
            inline_keyboard=[
                [button(text=label, callback_data=data) for label, data in row] for row in rows
            ]
        )

    def contact_keyboard(self, label: str) -> Any:
        """A one-button reply keyboard that shares the person's phone number."""
        return self.types.ReplyKeyboardMarkup(
            keyboard=[[self.types.KeyboardButton(text=label, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )

    # -- the calls ------------------------------------------------------------------------------

    async def post(
        self,
        chat_id: int,
        text: str,
        photo: bytes | str | None = None,
        *,
        markup: Any = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> str:
        """Send a text, or a photo (bytes or a file id) with the text as its caption; returns
        the id of the message sent."""
        reply = (
            self.types.ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        try:
            if photo is not None:
                if not isinstance(photo, str):
                    photo = self.input_file(photo, photo_filename(photo))
                message = await self.bot.send_photo(
                    chat_id,
                    photo,
                    caption=text or None,
                    reply_markup=markup,
                    message_thread_id=thread_id,
                    reply_parameters=reply,
                )
            else:
                message = await self.bot.send_message(
                    chat_id,
                    text,
                    reply_markup=markup,
                    message_thread_id=thread_id,
                    reply_parameters=reply,
                )
        except Exception as exc:
            raise self.send_error(exc) from exc
        return str(message.message_id)

    async def post_document(
        self,
        chat_id: int,
        caption: str,
        filename: str,
        data: bytes,
        *,
        markup: Any = None,
        thread_id: int | None = None,
    ) -> str:
        """Send a file (sendDocument) with an optional caption; returns the message id."""
        try:
            message = await self.bot.send_document(
                chat_id,
                self.input_file(data, filename),
                caption=caption or None,
                reply_markup=markup,
                message_thread_id=thread_id,
            )
        except Exception as exc:
            raise self.send_error(exc) from exc
        return str(message.message_id)

    def rejection(self, exc: Exception) -> MessageRejected:
        """What the framework raised, when Telegram refused the request itself (a 400); any
        other failure is raised as its SendError, for the caller's caller to handle."""
        error = self.send_error(exc)
        if not isinstance(error, MessageRejected):
            raise error from exc
        return error

    async def register_commands(self, conversation: Any) -> None:
        """The command menu in Chinese, in English, and English for every other language."""
        try:
            for language_code in ("zh", "en", None):
                commands = [
                    self.types.BotCommand(command=name, description=description)
                    for name, description in conversation.bot_commands(language_code or "en")
                ]
                await self.bot.set_my_commands(commands, language_code=language_code)
        except Exception:
            # The bot still works without a command menu; the log says why it is missing.
            log.exception("registering the command menu with Telegram failed")


class BotApiSender(BotApi):
    """The replies' Sender (see bot.telegram.replies) over a Bot API client."""

    def part_markup(self, part: Part) -> Any:
        """The one markup a Part carries: inline buttons, or a change of reply keyboard."""
        if part.buttons:
            return self.inline_markup(
                [(button.text, button.data) for button in row] for row in part.buttons
            )
        if part.keyboard is Keyboard.REQUEST_CONTACT:
            return self.contact_keyboard(contact_button_text(part))
        if part.keyboard is Keyboard.REMOVE:
            return self.types.ReplyKeyboardRemove()
        return None

    async def send(self, chat_id: str, part: Part) -> None:
        thread = int(part.thread_id) if part.thread_id else None
        if part.document is not None:
            await self.post_document(
                int(chat_id), part.text, part.document.filename, part.document.data,
                markup=self.part_markup(part), thread_id=thread,
            )
            return
        await self.post(
            int(chat_id), part.text, part.photo, markup=self.part_markup(part), thread_id=thread
        )

    async def edit(self, chat_id: str, message_id: str, part: Part) -> EditResult:
        # Only inline buttons can sit on an edited message; deliver() edits no other kind.
        markup = self.part_markup(part) if part.buttons else None
        try:
            await self.bot.edit_message_text(
                text=part.text,
                chat_id=int(chat_id),
                message_id=int(message_id),
                reply_markup=markup,
            )
        except Exception as exc:
            error = self.rejection(exc)
            # A 400: nothing changed (done already), or the message cannot be edited any more.
            return EditResult.UNCHANGED if is_not_modified(str(error)) else EditResult.FAILED
        return EditResult.EDITED

    async def answer_callback(self, callback_id: str) -> None:
        await self.bot.answer_callback_query(callback_id)


class BotApiMessenger(BotApi):
    """The outbox's Messenger over a Bot API client; only domain SendErrors leave it."""

    def __init__(self, bot: Any) -> None:
        super().__init__(bot)
        self._no_topics: set[str] = set()  # groups found to have no topics for us

    # -- the Messenger port -------------------------------------------------------------------

    async def send_text(
        self,
        chat_id: str,
        text: str,
        photo: bytes | None = None,
        buttons: Buttons = (),
        *,
        thread_id: str | None = None,
        reply_to: str | None = None,
        photo_file_id: str | None = None,
    ) -> str | None:
        sent: str | None = None
        thread = int(thread_id) if thread_id is not None else None
        for index, call in enumerate(plan_calls(text, photo_file_id or photo, buttons)):
            sent = await self.post(
                int(chat_id),
                call.text,
                call.photo,
                markup=self.inline_markup(call.buttons) if call.buttons else None,
                thread_id=thread,
                # Only the first call quotes the message replied to; the rest follow it.
                reply_to=int(reply_to) if reply_to is not None and index == 0 else None,
            )
        return sent

    async def create_topic(self, chat_id: str, name: str) -> str | None:
        if chat_id in self._no_topics:
            return None
        try:
            topic = await self.bot.create_forum_topic(chat_id=int(chat_id), name=name[:128])
        except Exception as exc:
            error = self.rejection(exc)
            # Not a forum, or no right to manage topics: the group gets plain replies.
            log.warning(
                "no forum topic in chat %s (%s); replying to messages instead", chat_id, error
            )
            self._no_topics.add(chat_id)
            return None
        return str(topic.message_thread_id)

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, buttons: Buttons = ()
    ) -> None:
        try:
            await self.bot.edit_message_text(
                text=split_text(text)[0],
                chat_id=int(chat_id),
                message_id=int(message_id),
                reply_markup=self.inline_markup(buttons) if buttons else None,
            )
        except Exception as exc:
            error = self.rejection(exc)  # raises what is not a 400 as its SendError
            if is_not_modified(str(error)):
                return  # a repeat after a crash: the card shows it already
            raise error from exc


def rejected_or_gone(description: str) -> SendError:
    """A 400: the chat is gone (unreachable) or this message can never be sent (rejected)."""
    if chat_is_gone(description):
        return ChatUnreachable(description)
    return MessageRejected(description)
