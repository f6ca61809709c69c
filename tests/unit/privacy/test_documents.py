"""A member's copy of their data travels as documents: one Bot API call each, the text as its
caption, and in the terminal chat a file written where the person can open it."""

from __future__ import annotations

import io
from pathlib import Path

from bot.telegram.replies import plan_parts
from bot.terminal import TerminalChat
from handlers.types import Document, OutgoingMessage


def test_a_document_is_one_part_with_its_text_as_caption() -> None:
    message = OutgoingMessage("privacy.export_json", "Your data", document=Document("a.json",
                                                                                    b"{}"))
    (part,) = plan_parts(message)
    assert part.document is not None and part.document.filename == "a.json"
    assert part.text == "Your data" and part.photo is None


def test_a_long_text_goes_after_the_document() -> None:
    message = OutgoingMessage("k", "x" * 2000, document=Document("a.txt", b"hello"))
    first, second = plan_parts(message)
    assert first.document is not None and first.text == ""
    assert second.document is None and second.text == "x" * 2000


def test_the_terminal_chat_writes_the_file_and_says_where(tmp_path: Path) -> None:
    out = io.StringIO()
    chat = TerminalChat(conversation=None, phone="13800138000", out=out,  # type: ignore[arg-type]
                        files_dir=tmp_path / "files")
    chat.show([OutgoingMessage("privacy.export_json", "Your data",
                               document=Document("../../escape.json", b'{"a": 1}'))])
    written = tmp_path / "files" / "escape.json"
    assert written.read_bytes() == b'{"a": 1}'
    assert str(written) in out.getvalue()
