"""What both outbox messengers share: cutting a message into Bot API calls, reading errors."""

from __future__ import annotations

from dataclasses import dataclass

from bot.messaging import MAX_CAPTION, split_text, utf16_len
from domain.ports import Buttons

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
