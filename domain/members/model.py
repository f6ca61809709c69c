"""Members, stores and the chat accounts that speak for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

LANGUAGES = ("zh", "en")


def language_from_telegram(code: str | None) -> str:
    """Chinese for any zh-* Telegram language, English for everything else."""
    return "zh" if (code or "").lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Store:
    """A shop of the chain; its time zone decides what 'today' and naive receipt times mean."""

    code: str
    name: str
    timezone: str
    id: int | None = None


@dataclass
class Member:
    """A loyalty member, keyed for linking by the phone in E.164."""

    member_no: str
    name: str
    phone: str | None
    joined_at: datetime
    birthday: date | None = None
    home_store_id: int | None = None
    acquired_store_id: int | None = None
    tier: str = "member"
    spend_12m: Decimal = Decimal("0")
    language: str | None = None
    marketing_consent: bool = False
    opted_out_at: datetime | None = None
    id: int | None = None

    def withdraw_consent(self, at: datetime) -> None:
        """/stop: no more marketing, at once; the time is kept as proof."""
        self.marketing_consent = False
        self.opted_out_at = at

    def give_consent(self) -> None:
        self.marketing_consent = True
        self.opted_out_at = None


@dataclass
class ChatUser:
    """One chat account (Telegram user, terminal session) and its conversation state.

    The state lives here, in the database, not in a framework's FSM, so it survives restarts
    and every webhook worker sees the same one.
    """

    channel: str
    user_id: str
    chat_id: str
    telegram_language: str | None = None
    language: str | None = None
    member_id: int | None = None
    state: str = ""
    state_data: dict[str, Any] = field(default_factory=dict)
    source_store_code: str | None = None
    reachable: bool = True
    id: int | None = None

    def effective_language(self) -> str:
        """The chosen language, else the one Telegram reports."""
        return self.language or language_from_telegram(self.telegram_language)
