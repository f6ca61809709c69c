"""Staff accounts in SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.staff.model import Role, StaffMember
from storage.common import RowMapping, update_by_id
from storage.staff.tables import staff

_staff = RowMapping(StaffMember, staff, enums={"role": Role}, bools=("active",)).entity


class SqlStaffRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, staff_id: int) -> StaffMember | None:
        row = (await self.conn.execute(select(staff).where(staff.c.id == staff_id))).first()
        return _staff(row) if row else None

    async def get_by_telegram_id(self, user_id: str) -> StaffMember | None:
        row = (
            await self.conn.execute(select(staff).where(staff.c.telegram_user_id == user_id))
        ).first()
        return _staff(row) if row else None

    async def save(self, member: StaffMember) -> StaffMember:
        values = {
            "telegram_user_id": member.telegram_user_id,
            "role": member.role.value,
            "display_name": member.display_name,
            "store_code": member.store_code,
            "active": member.active,
        }
        existing = await self.get_by_telegram_id(member.telegram_user_id)
        if existing is None:
            new_id = await self.conn.scalar(
                staff.insert().returning(staff.c.id), {**values, "created_at": datetime.now(UTC)}
            )
            member.id = int(new_id) if new_id is not None else None
        else:
            await self.conn.execute(update_by_id(staff), {**values, "row_id": existing.id})
            member.id = existing.id
        return member

    async def list(self) -> list[StaffMember]:
        rows = await self.conn.execute(select(staff).order_by(staff.c.id))
        return [_staff(row) for row in rows]
