"""Staff accounts, minimal for now: who may redeem coupons from Telegram, and in which store."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
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

    @property
    def is_manager_or_admin(self) -> bool:
        """Managers and admins work every ticket and call and may see personal data."""
        return self.role in (Role.MANAGER, Role.ADMIN)

    def may_work(self, assignee_id: int | None) -> bool:
        """Whether this person may work a ticket or a call held by `assignee_id`: managers and
        admins every one, an agent only the unassigned ones and their own."""
        return self.is_manager_or_admin or assignee_id is None or assignee_id == self.id

    @property
    def shown_name(self) -> str:
        """How colleagues see this account: its display name, else its Telegram id."""
        return self.display_name or self.telegram_user_id

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


def admins(accounts: Iterable[StaffMember], admin_ids: AbstractSet[str]) -> list[StaffMember]:
    """The active admin accounts, and the ADMIN_IDS nobody added to the staff table."""
    found = [s for s in accounts if s.active and s.role is Role.ADMIN]
    known = {s.telegram_user_id for s in found}
    return found + [StaffMember(admin, Role.ADMIN) for admin in sorted(admin_ids - known)]


def managers_else_admins(
    accounts: Sequence[StaffMember], admin_ids: AbstractSet[str]
) -> list[StaffMember]:
    """Who hears what goes over an agent's head: the active managers; without any, the admins."""
    managers = [s for s in accounts if s.active and s.role is Role.MANAGER]
    return managers or admins(accounts, admin_ids)


def admin_from_settings(user_id: str) -> StaffMember:
    """An ADMIN_IDS account: an admin even before anyone added it to the staff table."""
    return StaffMember(telegram_user_id=user_id, role=Role.ADMIN, display_name="admin")
