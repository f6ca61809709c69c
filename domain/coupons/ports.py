"""The coupon repository."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # these modules use the unit of work themselves
    from domain.coupons.model import Coupon
    from domain.members.model import Member

class CouponRepository(Protocol):
    async def get(self, coupon_id: int) -> Coupon | None: ...
    async def get_by_code(self, code: str) -> Coupon | None: ...
    async def get_by_source(self, member_id: int, source: str) -> Coupon | None: ...
    async def add_if_new(self, coupon: Coupon) -> Coupon | None:
        """Insert unless the member has one for the source or the code is taken (then None)."""
        ...

    async def add_many_if_new(self, coupons: Sequence[Coupon]) -> int: ...
    async def by_source(self, member_ids: Iterable[int], source: str) -> dict[int, Coupon]: ...
    async def active_for(self, member_id: int, now: datetime) -> list[Coupon]: ...
    async def mark_redeemed(
        self, coupon_id: int, now: datetime, store_code: str, by: str
    ) -> bool:
        """Redeem only if still active and unexpired at `now`; False when another got there."""
        ...

    async def expire_due(self, now: datetime) -> int: ...
    async def due_reminders(
        self, now: datetime, until: datetime, limit: int
    ) -> list[Coupon]: ...
    async def mark_reminded(self, coupon_ids: Sequence[int], now: datetime) -> None: ...
    async def hold_member(self, member_id: int) -> None:
        """Lock the member until the transaction ends, so point spending is serialised."""
        ...

    async def members_born_on(
        self, birthday_mds: Sequence[int], store_ids: Sequence[int], unassigned: bool
    ) -> list[Member]:
        """Members whose birthday (month*100+day) is one of `birthday_mds`, whose home store is
        one of `store_ids` (or who have none, when `unassigned`): an indexed lookup."""
        ...
