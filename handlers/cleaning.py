"""Inbound events cleaned before any handler sees them: the one door every adapter goes through."""

from __future__ import annotations

from dataclasses import replace

from domain.shared.text import clean_text
from handlers.types import Inbound

# Longer than any message Telegram delivers (4096) or any button data (64): what is beyond this
# only comes from a pipe or a forged client, and no step needs it to answer "too long".
MAX_INBOUND_CHARS = 16384


def clean_inbound(inbound: Inbound) -> Inbound:
    """The event with its text fields cleaned (see domain.shared.text.clean_text)."""
    payload = clean_text(inbound.payload[: MAX_INBOUND_CHARS + 1])
    text = clean_text(inbound.text[: MAX_INBOUND_CHARS + 1])
    command = clean_text(inbound.command[:64])
    display_name = clean_text(inbound.display_name[:256])
    if (payload, text, command, display_name) == (
        inbound.payload,
        inbound.text,
        inbound.command,
        inbound.display_name,
    ):
        return inbound
    return replace(
        inbound, payload=payload, text=text, command=command, display_name=display_name
    )
