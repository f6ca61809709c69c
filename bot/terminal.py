"""The terminal chat: the same conversation as Telegram, typed in a shell or fed through a pipe."""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from handlers.types import Inbound, InboundKind, Keyboard, OutgoingMessage

if TYPE_CHECKING:
    from handlers.engine import Conversation

CHANNEL = "terminal"
# A staff member at the server's console: the operator already holds the database, so the
# console is trusted to speak for the staff account it names (see handlers.coupons.staff_of).
STAFF_CHANNEL = "console"
HELP = (
    "Type as you would in Telegram: /start, /points, my points... "
    "A number presses the button shown with it. :contact shares your phone, "
    ":sticker sends a sticker, :quit leaves."
)


def terminal_user_id(phone: str) -> str:
    """A stable id for the person at the keyboard, so their state survives between sessions."""
    return "t" + hashlib.sha256(phone.encode()).hexdigest()[:16]


class TerminalChat:
    """Reads lines, sends them through the conversation and prints the replies."""

    def __init__(
        self,
        conversation: Conversation,
        phone: str,
        language: str = "en",
        out: IO[str] | None = None,
        *,
        staff_id: str | None = None,
    ) -> None:
        self.conversation = conversation
        self.phone = phone
        self.channel = STAFF_CHANNEL if staff_id else CHANNEL
        self.user_id = staff_id or terminal_user_id(phone)
        self.language = language
        self.out = out or sys.stdout
        self._buttons: list[str] = []  # callback data of the buttons last shown, by number
        self._contact_offered = False

    def _inbound(
        self,
        kind: InboundKind,
        payload: str = "",
        command: str = "",
        contact_user_id: str | None = None,
    ) -> Inbound:
        return Inbound(
            channel=self.channel,
            user_id=self.user_id,
            chat_id=self.user_id,
            kind=kind,
            payload=payload,
            command=command,
            language_code=self.language,
            contact_user_id=contact_user_id,
            callback_id="terminal" if kind is InboundKind.BUTTON else None,
        )

    def parse(self, line: str) -> Inbound | None:
        """One typed line as the event it stands for; None for an empty line."""
        text = line.strip()
        if not text:
            return None
        if text == ":contact" or (text == "0" and self._contact_offered):
            return self._inbound(InboundKind.CONTACT, self.phone, contact_user_id=self.user_id)
        if text == ":sticker":
            return self._inbound(InboundKind.OTHER)
        if text.isdigit() and self._buttons and 1 <= int(text) <= len(self._buttons):
            return self._inbound(InboundKind.BUTTON, self._buttons[int(text) - 1])
        if text.startswith("/") and len(text) > 1:
            name, _, args = text[1:].partition(" ")
            return self._inbound(
                InboundKind.COMMAND, args.strip(), command=name.split("@")[0].lower()
            )
        return self._inbound(InboundKind.TEXT, text)

    async def send(self, line: str) -> list[OutgoingMessage]:
        inbound = self.parse(line)
        if inbound is None:
            return []
        replies = await self.conversation.handle(inbound)
        self.show(replies)
        return replies

    def show(self, replies: list[OutgoingMessage]) -> None:
        buttons: list[str] = []
        for message in replies:
            if not message.text:
                continue
            self.out.write("\n" + message.text.strip() + "\n")
            for row in message.buttons:
                labels = []
                for button in row:
                    buttons.append(button.data)
                    labels.append(f"[{len(buttons)}] {button.text}")
                self.out.write("   ".join(labels) + "\n")
            if message.photo:
                self.out.write(f"(a picture of {len(message.photo)} bytes)\n")
            if message.keyboard is Keyboard.REQUEST_CONTACT:
                self._contact_offered = True
                self.out.write(f"[0] {message.contact_button_text}\n")
            elif message.keyboard is Keyboard.REMOVE:
                self._contact_offered = False
        if buttons or any(m.text for m in replies):
            self._buttons = buttons
        self.out.flush()

    async def run(self, read_line: Callable[[], str] | None = None) -> None:
        """Loop until end of input or :quit; reads standard input by default."""
        reader = read_line or sys.stdin.readline
        interactive = self.out.isatty() and read_line is None and sys.stdin.isatty()
        self.out.write(HELP + "\n")
        while True:
            if interactive:
                self.out.write("> ")
                self.out.flush()
            line = await asyncio.to_thread(reader)
            if not line or line.strip() in (":quit", ":q", "/quit"):
                break
            if not interactive:
                self.out.write(f"> {line.rstrip()}\n")
            await self.send(line)
