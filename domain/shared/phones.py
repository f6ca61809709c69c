"""Phone numbers in E.164: the key that links a chat account to a loyalty member."""

from __future__ import annotations

import re

import phonenumbers

from domain.shared.errors import InvalidPhone

# Two numbers in one field ("13800138000;13900139000", "138... / 139..."): refused, never the
# first one silently kept.
_SEVERAL = re.compile(r"[;,/|\\]|\bor\b|或")


def normalize_phone(raw: str, default_region: str, *, plus_optional: bool = True) -> str:
    """Return `raw` as E.164 (+8613812345678); raise InvalidPhone when it is not a real number.

    Telegram sends contacts without a plus sign ("8613812345678"), so a long number that does not
    parse in the default region is tried again as international. A file from the chain's own
    tills is read with `plus_optional=False`: a number without + must be valid in the chain's
    region (12345678901 is no Chinese number, even though +1 234 567 8901 is an American one).
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("the phone number is empty")
    if _SEVERAL.search(text):
        raise InvalidPhone(f"{raw!r} holds more than one phone number", phone=raw)
    candidates = [text]
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if plus_optional and not text.startswith("+") and len(digits) > 10:
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, default_region.upper())
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhone(f"{raw!r} is not a valid phone number", phone=raw)


def mask_phone(e164: str) -> str:
    """Show only the last four digits, for logs and for staff who need no more."""
    if len(e164) <= 4:
        return "*" * len(e164)
    return "*" * (len(e164) - 4) + e164[-4:]
