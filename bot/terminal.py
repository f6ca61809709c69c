"""The terminal chat: the same conversation as Telegram, typed in a shell or fed through a pipe."""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bot.terminal_qr import qr_blocks
from domain.shared.text import parse_number, safe_display
from handlers.types import Document, Inbound, InboundKind, Keyboard, OutgoingMessage

if TYPE_CHECKING:
    from handlers.engine import Conversation

CHANNEL = "terminal"
# A staff member at the server's console: the operator already holds the database, so the
# console is trusted to speak for the staff account it names (see handlers.coupons.staff_of).
STAFF_CHANNEL = "console"
STAFF_HELP = (
    "Staff desk: /desk lists the commands (/queue, /ticket N, /take N, /reply N text, "
    "/member 5799...). A number presses the button shown with it, :quit leaves."
)
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
        files_dir: Path | None = None,
    ) -> None:
        self.conversation = conversation
        # Where documents sent in the chat (a member's copy of their data) are written.
        self.files_dir = files_dir or Path.cwd() / "retailbot-files"
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
        pressed = parse_number(text, maximum=len(self._buttons))
        if pressed:  # "²" or "①" or a huge number is text, never a button nor a crash
            return self._inbound(InboundKind.BUTTON, self._buttons[pressed - 1])
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

    def _save(self, document: Document) -> Path:
        """Write a document where the person at the keyboard can open it; only the file's
        own name is used, so a name cannot point elsewhere."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / Path(document.filename).name
        path.write_bytes(document.data)
        return path

    def show(self, replies: list[OutgoingMessage]) -> None:
        buttons: list[str] = []
        for message in replies:
            if not message.text:
                continue
            # Member text (a ticket thread, a name) may hold escape codes: shown, never obeyed.
            self.out.write("\n" + safe_display(message.text.strip()) + "\n")
            for row in message.buttons:
                labels = []
                for button in row:
                    buttons.append(button.data)
                    labels.append(f"[{len(buttons)}] {safe_display(button.text)}")
                self.out.write("   ".join(labels) + "\n")
            if message.photo:
                drawn = qr_blocks(message.photo)
                self.out.write(drawn if drawn else f"(a picture of {len(message.photo)} bytes)\n")
            if message.document is not None:
                self.out.write(f"(a file, written to {self._save(message.document)})\n")
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
        interactive = self.out.isatty() and read_line is None and sys.stdin.isatty()
        reader = read_line or (line_editor() if interactive else sys.stdin.readline)
        self.out.write((STAFF_HELP if self.channel == STAFF_CHANNEL else HELP) + "\n")
        while True:
            if interactive and reader == sys.stdin.readline:
                self.out.write("> ")
                self.out.flush()
            line = await asyncio.to_thread(reader)
            if not line or line.strip() in (":quit", ":q", "/quit"):
                break
            if not interactive:
                self.out.write(f"> {safe_display(line.rstrip())}\n")
            await self.send(line)


def line_editor() -> Callable[[], str]:
    """Reads a line with editing and history when readline exists: arrow keys move the cursor
    instead of sending escape codes into an open complaint. End of input gives ""."""
    try:
        import readline  # noqa: F401  (importing it is what makes input() edit lines)
    except ImportError:  # some platforms have no readline; plain lines still work
        return sys.stdin.readline

    def read() -> str:
        try:
            return input("> ") + "\n"
        except EOFError:
            return ""

    return read
