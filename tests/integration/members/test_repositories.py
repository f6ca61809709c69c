"""The repositories on SQLite and PostgreSQL: what the domain relies on them for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from bot.bootstrap import App
from domain.loyalty.model import EntryKind, LedgerEntry, Receipt
from domain.members.model import Member, Store
from domain.staff.model import Role, StaffMember

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


async def _two_members(app: App) -> tuple[Store, Member, Member]:
    async with app.uow_factory() as uow:
        store = await uow.stores.add(Store("SH01", "Shanghai", "Asia/Shanghai"))
        li = await uow.members.add(
            Member("100001", "Li Lei", "+8613800138000", T0, birthday=date(1990, 5, 17),
                   home_store_id=store.id)
        )
        han = await uow.members.add(Member("100002", "韩梅梅", "+8613900139000", T0))
        await uow.commit()
    return store, li, han


async def test_members_are_found_by_number_and_phone_one_by_one_and_in_bulk(
    any_app: App,
) -> None:
    _, li, han = await _two_members(any_app)
    async with any_app.uow_factory() as uow:
        assert (await uow.members.get_by_phone("+8613800138000")) == li
        assert (await uow.members.get_by_member_no("100002")) == han
        assert await uow.members.ids_by_member_no(["100001", "100404"]) == {"100001": li.id}
        assert await uow.members.ids_by_phone(["+8613900139000"]) == {"+8613900139000": han.id}
        by_no = await uow.members.by_member_nos(["100001", "100002", "100404"])
        by_phone = await uow.members.by_phones(["+8613900139000", "+8613700137000"])
    assert by_no == {"100001": li, "100002": han}
    assert by_phone == {"+8613900139000": han}


async def test_the_database_refuses_a_second_member_with_the_same_phone(any_app: App) -> None:
    await _two_members(any_app)
    with pytest.raises(IntegrityError):
        async with any_app.uow_factory() as uow:
            await uow.members.add(Member("100003", "Copy", "+8613800138000", T0))
            await uow.commit()


async def test_members_who_join_in_the_chat_get_the_next_w_number(any_app: App) -> None:
    async with any_app.uow_factory() as uow:
        assert await uow.members.next_member_no() == "W0000001"
        await uow.members.add(Member("W0000041", "Chat joiner", None, T0))
        assert await uow.members.next_member_no() == "W0000042"


async def test_many_tiers_are_set_in_one_go(any_app: App) -> None:
    _, li, han = await _two_members(any_app)
    assert li.id is not None and han.id is not None
    async with any_app.uow_factory() as uow:
        await uow.members.set_tiers(
            {li.id: ("gold", Decimal("8123.45")), han.id: ("silver", Decimal("2000"))}
        )
        await uow.commit()
    async with any_app.uow_factory() as uow:
        assert await uow.members.tiers_of([li.id, han.id]) == {li.id: "gold", han.id: "silver"}
        reloaded = await uow.members.get(li.id)
    assert reloaded is not None and reloaded.spend_12m == Decimal("8123.45")


async def test_a_ledger_entry_is_booked_once_per_source_key(any_app: App) -> None:
    _, li, _ = await _two_members(any_app)
    assert li.id is not None
    entry = LedgerEntry(li.id, EntryKind.EARN, 120, "receipt:A1", T0, T0 + timedelta(days=365))
    async with any_app.uow_factory() as uow:
        assert await uow.ledger.append([entry, entry]) == 1
        assert await uow.ledger.append([entry]) == 0
        assert await uow.ledger.balance(li.id) == 120
        (stored,) = await uow.ledger.entries_for(li.id)
    assert stored.expires_at == T0 + timedelta(days=365)
    assert stored.occurred_at.tzinfo is not None


async def test_receipts_keep_cents_exactly_and_refunds_add_up(any_app: App) -> None:
    store, li, _ = await _two_members(any_app)
    assert store.id is not None and li.id is not None
    sale = Receipt("A1", store.id, li.id, T0, Decimal("0.10"), "CNY", points=0)
    big = Receipt("A2", store.id, li.id, T0 + timedelta(days=1), Decimal("99999.99"), "CNY")
    refunds = [
        Receipt("A2-R1", store.id, li.id, T0 + timedelta(days=2), Decimal("-0.01"), "CNY", "A2"),
        Receipt("A2-R2", store.id, li.id, T0 + timedelta(days=3), Decimal("-9.99"), "CNY", "A2"),
    ]
    async with any_app.uow_factory() as uow:
        await uow.receipts.add_many([sale, big, *refunds])
        assert await uow.receipts.existing(["A1", "A9"]) == {"A1"}
        assert await uow.receipts.refunded("A2") == Decimal("-10.00")
        spend = await uow.receipts.spend_since([li.id], T0 + timedelta(hours=1))
        loaded = await uow.receipts.get("A1")
        recent = await uow.receipts.recent_for_member(li.id, 2)
    assert spend == {li.id: Decimal("99989.99")}
    assert loaded is not None and loaded.amount == Decimal("0.10") and loaded.occurred_at == T0
    assert [r.receipt_no for r in recent] == ["A2-R2", "A2-R1"]


async def test_nothing_is_kept_without_a_commit(any_app: App) -> None:
    async with any_app.uow_factory() as uow:
        await uow.stores.add(Store("SH01", "Shanghai", "Asia/Shanghai"))
    async with any_app.uow_factory() as uow:
        assert await uow.stores.list() == []


async def test_saving_a_staff_member_again_changes_that_row_only(any_app: App) -> None:
    async with any_app.uow_factory() as uow:
        first = await uow.staff.save(StaffMember("7001", Role.AGENT, "Wang"))
        other = await uow.staff.save(StaffMember("7002", Role.AGENT, "Li"))
        again = await uow.staff.save(
            StaffMember("7001", Role.MANAGER, "Wang Fang", store_code="SH01", active=False)
        )
        await uow.commit()
    assert again.id == first.id and other.id != first.id
    async with any_app.uow_factory() as uow:
        saved = {member.telegram_user_id: member for member in await uow.staff.list()}
    assert saved["7001"] == StaffMember(
        "7001", Role.MANAGER, "Wang Fang", store_code="SH01", active=False, id=first.id
    )
    assert saved["7002"] == StaffMember("7002", Role.AGENT, "Li", id=other.id)
