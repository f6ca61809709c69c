"""The values that cross between an adapter and the conversation: no framework type passes here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class InboundKind(enum.StrEnum):
    COMMAND = "command"  # "/points", payload = arguments after the command ("store_SH01")
    TEXT = "text"
    BUTTON = "button"  # an inline button was pressed; payload = its callback data
    CONTACT = "contact"  # a shared contact; payload = the phone number
    PHOTO = "photo"  # payload = file id of the largest size; `text` = the caption
    OTHER = "other"  # stickers, voice, locations...: answered politely


@dataclass(frozen=True)
class Inbound:
    """One thing a person did in a chat, as the adapter saw it."""

    channel: str  # "telegram" or "terminal"
    user_id: str
    chat_id: str
    kind: InboundKind
    payload: str = ""
    command: str = ""  # without the slash and bot name, lower case: "points"
    language_code: str | None = None  # as the messenger reports it ("zh-hans", "en")
    display_name: str = ""
    contact_user_id: str | None = None  # for CONTACT: whose contact it is (None if unknown)
    message_id: str | None = None  # the message a BUTTON belongs to, for edits
    callback_id: str | None = None  # for BUTTON: to answer the callback
    is_private: bool = True
    text: str = ""  # a photo's caption
    thread_id: str | None = None  # forum topic of a group message
    reply_to_message_id: str | None = None  # the message this one answers, in groups


@dataclass(frozen=True)
class Button:
    """An inline button: a message key for the label (or literal text) and short callback data."""

    label_key: str
    data: str
    params: dict[str, Any] = field(default_factory=dict)
    literal: str | None = None  # shown as is, not translated (a store name, a reward)


class Keyboard(enum.StrEnum):
    """A reply keyboard below the input field."""

    NONE = "none"  # leave whatever is shown
    REQUEST_CONTACT = "request_contact"  # one button that shares the user's own phone
    REMOVE = "remove"


@dataclass(frozen=True)
class Document:
    """A file sent in the chat (a member's copy of their data): its name and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """A message to send, as a message key and parameters; the translator writes the text."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    keyboard: Keyboard = Keyboard.NONE
    photo: bytes | None = None
    edit: bool = False  # replace the message the pressed button belongs to
    document: Document | None = None  # sent as a file, the text as its caption


@dataclass(frozen=True)
class Outcome:
    """What a conversation step returns: the replies and the next state (None: keep it)."""

    replies: tuple[Reply, ...] = ()
    next_state: str | None = None
    state_data: dict[str, Any] | None = None


@dataclass(frozen=True)
class RenderedButton:
    text: str
    data: str


@dataclass(frozen=True)
class OutgoingMessage:
    """A reply in the user's language, ready for an adapter to send as is."""

    key: str
    text: str
    buttons: tuple[tuple[RenderedButton, ...], ...] = ()
    keyboard: Keyboard = Keyboard.NONE
    contact_button_text: str = ""
    photo: bytes | None = None
    edit: bool = False
    answer_callback: str | None = None  # callback id to acknowledge, if a button was pressed
    document: Document | None = None
