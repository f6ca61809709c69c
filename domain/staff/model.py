"""Staff accounts, minimal for now: who may redeem coupons from Telegram, and in which store."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from domain.shared.errors import InvalidInput


class Role(enum.StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


@dataclass
class StaffMember:
    """A Telegram account that works for the chain."""

    telegram_user_id: str
    role: Role
    display_name: str = ""
    store_code: str | None = None  # the till's store, used when /redeem names none
    active: bool = True
    id: int | None = None

    def label(self) -> str:
        """How redemptions record this person: 'telegram:5001 (Wang)'."""
        name = f" ({self.display_name})" if self.display_name else ""
        return f"telegram:{self.telegram_user_id}{name}"


def parse_role(raw: str) -> Role:
    try:
        return Role(raw.strip().lower())
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"role must be one of {roles}, not {raw!r}") from exc


def admin_from_settings(user_id: str) -> StaffMember:
    """An ADMIN_IDS account: an admin even before anyone added it to the staff table."""
    return StaffMember(telegram_user_id=user_id, role=Role.ADMIN, display_name="admin")
