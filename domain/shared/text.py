"""What comes in and what goes out as text: one id parser, inbound cleaning, safe display.

Everything a person or a client sends passes `clean_text` at the edge, before any handler sees
it, so the database never receives what it cannot store (PostgreSQL refuses NUL; lone surrogates
from invalid UTF-8 cannot be encoded). Everything shown on a terminal or to staff passes
`safe_display`, so a member cannot make an operator's terminal run escape sequences.
"""

from __future__ import annotations

import re
import unicodedata

# The largest id we accept: PostgreSQL INTEGER columns stop at 2**31 - 1, and anything longer
# than that is a forged or mistyped value, never a row of ours.
MAX_ID = 2**31 - 1
_ASCII_ID = re.compile(r"[0-9]{1,10}")

_KEPT_CONTROLS = {"\n", "\t"}
# Terminal escape sequences (arrow keys typed without line editing, a pasted colour code, a
# window-title trick) go whole: dropping only the ESC would leave "[A" in a complaint.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor keys, colours
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, links
    r"|\x1b[@-Z\\-_]"  # two-character escapes
)
_REPLACEMENT = "\ufffd"


def parse_id(raw: str | None) -> int | None:
    """A positive id from ASCII digits ("42", " 42 "); None for "²", "①", "-1", huge numbers.

    `str.isdigit()` says yes to superscripts and circled digits that `int()` then refuses, and
    `int()` takes numbers no database column holds: every id from a button, a command or a
    typed button number goes through here instead.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not _ASCII_ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def parse_number(raw: str | None, *, maximum: int) -> int | None:
    """A small whole number from ASCII digits (a score, a button's position): 0..maximum."""
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdecimal() or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def clean_text(text: str) -> str:
    """Text safe to store: invalid code points replaced, control characters (but newline and
    tab) dropped, Windows and old Mac line ends made newlines."""
    if text.isascii() and text.isprintable():
        return text  # the common case, spared the character walk
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cs":
            out.append(_REPLACEMENT)  # a lone surrogate from bytes that were not UTF-8
        elif category == "Cc" and ch not in _KEPT_CONTROLS:
            continue
        else:
            out.append(ch)
    return "".join(out)


def safe_display(text: str) -> str:
    """Text safe to print on a terminal or show to staff: control and format characters that
    could move the cursor, retitle a window or reverse a line are shown as visible escapes."""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in _KEPT_CONTROLS:
            out.append(ch)
        elif category == "Cs":
            out.append(_REPLACEMENT)
        elif category == "Cc" or (category == "Cf" and _is_bidi_control(ch)):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def _is_bidi_control(ch: str) -> bool:
    # Overrides and isolates can make "refund 100" read as something else on a staff screen.
    return 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) that
# sends data away, =cmd|...): every CSV the product writes neutralises them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def csv_cell(value: object) -> object:
    """A value safe to write into a CSV cell: text a spreadsheet would take for a formula gets
    a leading apostrophe (shown as text, never run); numbers, and text that is a plain number
    such as -12.50 or +8613800138000, are kept as they are."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_cell_read(text: str) -> str:
    """A cell of a CSV the product wrote, read back: blanks around it and the apostrophe
    `csv_cell` put before a formula-like text are dropped."""
    text = text.strip()
    return text[1:] if text[:1] == "'" and text[1:].startswith(_FORMULA_START) else text


def in_language(lang: str, en: str, zh: str) -> str:
    """The Chinese text for a chat in `zh`, else the English one: the bot speaks those two, and
    English is what any other language gets."""
    return zh if lang == "zh" else en
