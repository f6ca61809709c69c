"""The staff accounts repository."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # these modules use the unit of work themselves
    from domain.staff.model import StaffMember

class StaffRepository(Protocol):
    async def get(self, staff_id: int) -> StaffMember | None: ...
    async def get_by_telegram_id(self, user_id: str) -> StaffMember | None: ...
    async def save(self, staff: StaffMember) -> StaffMember: ...
    async def list(self) -> list[StaffMember]: ...
