"""What both Telegram adapters share for replies: planning, editing, retrying and apologising.

The replies are framework-neutral here; the Bot API calls they need sit behind the small
`Sender` protocol (bot.telegram.messenger.BotApiSender, with each framework's types), which
raises only the domain's SendErrors, the same ones the outbox's messenger raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Protocol

from domain.members.model import language_from_telegram
from domain.messaging.ports import ChatUnreachable, RateLimited
from domain.updates.model import UpdateAlreadyHandled
from handlers.types import (
    Document,
    Inbound,
    InboundKind,
    Keyboard,
    OutgoingMessage,
    RenderedButton,
)

logger = logging.getLogger(__name__)
MAX_TEXT = 4096  # Bot API limit for a message text, counted in UTF-16 code units
MAX_CAPTION = 1024
# A reply is retried once after a 429 when Telegram asks for no more than this many seconds;
# waiting longer would keep the person staring at nothing, so the reply is dropped and logged.
MAX_REPLY_RETRY_AFTER = 10.0

# Shown when the conversation itself failed and no translator is at hand: both languages,
# because the failure may have happened before we knew which one the person reads.
CONTACT_BUTTON_FALLBACK = "📱 分享手机号 / Share my phone number"
APOLOGY_KEY = "error.unexpected"
APOLOGY = (
    "抱歉，出了点问题，请稍后再试。\n"
    "Sorry, something went wrong on our side. Please try again."
)


# -- reading updates ------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


# -- writing replies ------------------------------------------------------------------------


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut a text into pieces Telegram accepts, at a line break or a space when there is one."""
    if limit < 2:
        raise ValueError(f"a message must allow at least 2 characters, not {limit}")
    pieces: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        cut = _longest_prefix(rest, limit)
        window = rest[:cut]
        # Prefer a paragraph, then a line, then a word boundary, but not so early that the
        # piece becomes a stub: half the window is the least we accept.
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at >= cut // 2:
                pieces.append(window[:at])
                rest = rest[at + len(separator):]
                break
        else:
            pieces.append(window)
            rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return [piece for piece in pieces if piece] or [""]


def _longest_prefix(text: str, limit: int) -> int:
    """How many code points of `text` fit in `limit` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


@dataclass(frozen=True)
class Part:
    """One Bot API message to send: text or a photo with caption, and at most one markup."""

    text: str
    buttons: tuple[tuple[RenderedButton, ...], ...] = ()
    keyboard: Keyboard = Keyboard.NONE
    contact_button_text: str = ""
    photo: bytes | None = None
    thread_id: str | None = None  # the forum topic to post in, as the inbound came from
    document: Document | None = None  # a file, with the text as its caption


class EditResult(Enum):
    EDITED = "edited"
    UNCHANGED = "unchanged"  # Telegram refused because nothing changed: nothing to do
    FAILED = "failed"  # too old, deleted, not ours...: send a new message instead


class Sender(Protocol):
    """The few Bot API calls a reply needs (bot.telegram.messenger.BotApiSender makes them).

    Like the outbox's Messenger, a Sender raises only the domain's SendErrors: ChatUnreachable
    for a blocked chat, RateLimited for a 429, and so on.
    """

    async def send(self, chat_id: str, part: Part) -> None: ...

    async def edit(self, chat_id: str, message_id: str, part: Part) -> EditResult: ...

    async def answer_callback(self, callback_id: str) -> None: ...


def contact_button_text(part: Part) -> str:
    """The label of the share-my-phone button; Telegram refuses a button without one."""
    return part.contact_button_text or CONTACT_BUTTON_FALLBACK


def is_not_modified(description: str) -> bool:
    """Telegram's answer to an edit that changes nothing (both frameworks keep the wording)."""
    return "message is not modified" in description.lower()


def photo_filename(data: bytes) -> str:
    """A file name whose extension matches the bytes, so clients show the right preview."""
    if data.startswith(b"\x89PNG"):
        return "photo.png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "photo.gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "photo.webp"
    return "photo.jpg"


class ChatLocks:
    """One lock per chat, so a person's messages are handled one after another.

    The conversation reads and saves its state per message; two messages of one chat handled
    at once (fast typing, a double tap on a button) would each see the old state. Different
    chats still run concurrently. A lock is dropped as soon as nobody holds or awaits it.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if self._users[chat_id] == 0:
                del self._users[chat_id]
                del self._locks[chat_id]

    def __len__(self) -> int:
        return len(self._locks)


def plan_parts(message: OutgoingMessage) -> list[Part]:
    """The Bot API messages one OutgoingMessage becomes, in order.

    A long text is split; the inline buttons go on the last piece (where the person is
    reading) and a reply-keyboard change on the first piece that carries no inline buttons,
    because one Bot API message holds only one kind of markup.
    """
    texts = split_text(message.text) if message.text else []
    parts: list[Part] = []
    if message.document is not None:
        caption_fits = bool(texts) and len(texts) == 1 and utf16_len(texts[0]) <= MAX_CAPTION
        parts.append(Part(text=texts[0] if caption_fits else "", document=message.document))
        if caption_fits:
            texts = []
    elif message.photo is not None:
        caption_fits = bool(texts) and len(texts) == 1 and utf16_len(texts[0]) <= MAX_CAPTION
        parts.append(Part(text=texts[0] if caption_fits else "", photo=message.photo))
        if caption_fits:
            texts = []
    parts.extend(Part(text=text) for text in texts)
    if not parts:
        if not message.key and message.answer_callback:
            return []  # only there to acknowledge a pressed button; nothing to show
        logger.warning("reply %r has neither text nor photo; nothing was sent", message.key)
        return []

    last = len(parts) - 1
    if message.buttons:
        parts[last] = replace(parts[last], buttons=message.buttons)
    if message.keyboard is not Keyboard.NONE:
        free = next((i for i, part in enumerate(parts) if not part.buttons), None)
        if free is None:
            # One short message with both inline buttons and a reply keyboard: the buttons are
            # what the person must act on, so they win; the keyboard change is dropped.
            logger.warning(
                "reply %r has inline buttons and a %s keyboard in one message; the keyboard "
                "change was not sent", message.key, message.keyboard.value,
            )
        else:
            parts[free] = replace(
                parts[free],
                keyboard=message.keyboard,
                contact_button_text=message.contact_button_text,
            )
    return parts


async def deliver(sender: Sender, inbound: Inbound, messages: Sequence[OutgoingMessage]) -> None:
    """Send the replies to the chat the inbound came from, editing where asked and possible."""
    edited = False  # the pressed message can show one reply; later edits become messages
    for message in messages:
        parts = plan_parts(message)
        if not parts:
            continue
        if message.edit and not edited and await _try_edit(sender, inbound, parts):
            edited = True
            continue
        for part in parts:
            if inbound.thread_id is not None:
                part = replace(part, thread_id=inbound.thread_id)  # answer in the same topic
            await _send_with_one_retry(sender, inbound.chat_id, part)


async def _try_edit(sender: Sender, inbound: Inbound, parts: list[Part]) -> bool:
    """True when the pressed message now shows the reply (or already did)."""
    if inbound.kind is not InboundKind.BUTTON or inbound.message_id is None:
        return False
    # Only a single plain text with inline buttons can replace a message in place: photos and
    # reply keyboards cannot be put on an existing message.
    if (
        len(parts) != 1
        or parts[0].photo is not None
        or parts[0].document is not None
        or parts[0].keyboard is not Keyboard.NONE
    ):
        return False
    result = await sender.edit(inbound.chat_id, inbound.message_id, parts[0])
    if result is EditResult.FAILED:
        logger.info("could not edit message %s in chat %s; sending a new one",
                    inbound.message_id, inbound.chat_id)
        return False
    return True


async def _send_with_one_retry(sender: Sender, chat_id: str, part: Part) -> None:
    try:
        await sender.send(chat_id, part)
    except RateLimited as exc:
        if exc.retry_after > MAX_REPLY_RETRY_AFTER:
            raise
        logger.warning("Telegram asked to wait %s s before replying in chat %s",
                       exc.retry_after, chat_id)
        await asyncio.sleep(exc.retry_after)
        await sender.send(chat_id, part)


def apology_for(translator: Any, inbound: Inbound) -> OutgoingMessage:
    """The short 'something went wrong' reply, in the person's language when we can tell."""
    if translator is not None:
        lang = language_from_telegram(inbound.language_code)
        try:
            text = translator(lang, APOLOGY_KEY)
            if isinstance(text, str) and text and text != APOLOGY_KEY:
                return OutgoingMessage(key=APOLOGY_KEY, text=text)
        except Exception:  # the apology must never fail in turn
            logger.exception("translating the apology failed; using the fixed one")
    return OutgoingMessage(key=APOLOGY_KEY, text=APOLOGY)


async def process(
    conversation: Any, inbound: Inbound, sender: Sender, translator: Any = None
) -> None:
    """Run one inbound through the conversation and send what it answers.

    A crash in the conversation is logged with its traceback and the person gets an apology
    instead of silence. A pressed button is acknowledged as soon as the conversation has
    answered (crash or not), before the replies go out, or the client keeps a spinner on it.
    """
    try:
        replies = await conversation.handle(inbound)
    except UpdateAlreadyHandled:
        return  # a redelivered update, handled once already (bot.telegram.updates)
    except Exception:
        logger.exception(
            "the conversation failed on a %s from user %s in chat %s",
            inbound.kind.value, inbound.user_id, inbound.chat_id,
        )
        replies = [apology_for(translator, inbound)]
    if inbound.callback_id is not None:
        try:
            await sender.answer_callback(inbound.callback_id)
        except Exception:
            # An unanswered query only leaves a spinner; it must not stop the reply.
            logger.warning("could not answer callback query %s", inbound.callback_id,
                           exc_info=True)
    try:
        await deliver(sender, inbound, replies)
    except ChatUnreachable:
        logger.warning("chat %s blocked the bot; the reply was not delivered", inbound.chat_id)
    except RateLimited as exc:
        logger.error("Telegram asked to wait %s s; the reply to chat %s was dropped",
                     exc.retry_after, inbound.chat_id)
    except Exception:
        logger.exception("sending the reply to chat %s failed", inbound.chat_id)


class ChatTurns:
    """How both frameworks hand a message or a button press to the conversation: one update of
    a chat at a time (ChatLocks), processed and answered by `process`."""

    def __init__(self, conversation: Any, translator: Any = None) -> None:
        self.conversation = conversation
        self.translator = translator
        self.locks = ChatLocks()

    async def take(self, inbound: Inbound, sender: Sender) -> None:
        async with self.locks.hold(inbound.chat_id):
            await process(self.conversation, inbound, sender, self.translator)
