"""The bulk check of transactions.csv says exactly what the row-by-row check says: the same
values for every row it accepts, the same line and reason for every row it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.imports.model import CheckedReceipt, ImportContext, RowError
from domain.imports.rules import (
    TRANSACTION_COLUMNS,
    TransactionChecker,
    ordered_values,
    parse_transaction_row,
    read_header,
    row_values,
    transaction_values,
)
from domain.members.model import Store
from tests.support.imports import sale_values as sale

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
STORES = [
    Store("SH01", "Shanghai", "Asia/Shanghai", id=1),
    Store("UR01", "Urumqi", "Asia/Urumqi", id=2),
    Store("BE01", "Berlin", "Europe/Berlin", id=3),  # a zone with summer time
]
CTX = ImportContext.build(
    STORES, default_region="CN", timezone="Asia/Shanghai", currency="CNY", now=NOW,
    max_receipt_amount=Decimal("50000"), oldest_receipt_days=1095,
)


ROWS = [
    sale(),
    sale(amount="-12.50", original_receipt_no="SH01-0000"),
    sale(amount="-0.00", original_receipt_no="SH01-0000"),
    sale(amount="+12.5"),
    sale(amount="0012.50"),
    sale(amount="7"),
    sale(amount="49999.99"),
    sale(amount="50000.01"),
    sale(amount="123456789.00"),
    sale(amount="12.345"),
    sale(amount="12,50"),
    sale(amount="1e3"),
    sale(amount="٣٤"),  # digits of another script
    sale(amount=""),
    sale(currency=""),
    sale(currency="cny"),
    sale(currency="USD"),
    sale(currency="RMB1"),
    sale(store_code="sh01"),
    sale(store_code="XX99"),
    sale(store_code=""),
    sale(member_no="", phone="13800138000"),
    sale(member_no="", phone="+86 138 0013 8000"),
    sale(phone="13800138000"),
    sale(member_no="", phone=""),
    sale(member_no="", phone="555"),
    sale(phone="555"),
    sale(member_no="M" * 33),
    sale(receipt_no=""),
    sale(receipt_no="R" * 65),
    sale(receipt_no="SH01\x07"),
    sale(original_receipt_no="SH01-0000"),
    sale(amount="-10.00"),
    sale(amount="-1", original_receipt_no="SH01-0001"),
    sale(amount="-1", original_receipt_no="O" * 65),
    sale(occurred_at=""),
    sale(occurred_at="2026-13-01 10:00"),
    sale(occurred_at="01/06/2026 18:30"),
    sale(occurred_at="2026-06-01 18:30"),
    sale(occurred_at="2026-06-01"),
    sale(occurred_at="2026-06-01T18:30:00+02:00"),
    sale(occurred_at="2026-06-01T18:30:00Z"),
    sale(occurred_at="2026-06-15T18:05"),  # Shanghai: 10:05 UTC, inside the slack
    sale(occurred_at="2026-06-15T18:11"),  # 10:11 UTC: in the future
    sale(occurred_at="2026-07-01T10:00"),
    sale(occurred_at="2023-06-16T08:00"),  # just inside the oldest allowed
    sale(occurred_at="2023-06-15T10:00"),  # just outside
    sale(occurred_at="1970-01-01T00:00"),
    sale(store_code="BE01", occurred_at="2026-03-29T02:30"),  # a time the clocks skip
    sale(store_code="BE01", occurred_at="2025-10-26T02:30"),  # a time the clocks pass twice
    sale(store_code="BE01", occurred_at="2026-06-15T12:05"),  # summer: 10:05 UTC
    sale(store_code="BE01", occurred_at="2026-06-15T12:11"),
    sale(store_code="UR01", occurred_at="2025-12-31T23:59:59.999999"),
]


def _same(bulk: CheckedReceipt, one: CheckedReceipt) -> None:
    assert bulk == one
    # Equal instants are not enough: the zone decides the points' expiry, so it must be the one
    # the row-by-row check gives.
    assert bulk.occurred_at.tzinfo == one.occurred_at.tzinfo
    assert bulk.occurred_at.fold == one.occurred_at.fold
    assert bulk.occurred_at.utcoffset() == one.occurred_at.utcoffset()


@pytest.mark.parametrize("values", ROWS, ids=[str(i) for i in range(len(ROWS))])
def test_the_bulk_check_accepts_and_refuses_a_row_as_the_row_check_does(
    values: dict[str, str],
) -> None:
    one = parse_transaction_row(9, values, CTX)
    checked, errors = TransactionChecker(CTX).check([(9, transaction_values(values))])
    if isinstance(one, RowError):
        assert checked == [] and errors == [one]
    else:
        assert errors == []
        _same(checked[0], one.checked())


def test_a_whole_chunk_keeps_file_order_and_each_rows_line() -> None:
    checker = TransactionChecker(CTX)
    given = [(line, transaction_values(values)) for line, values in enumerate(ROWS, start=2)]
    # Twice over: the second time every value comes from what the first time worked out.
    for _ in range(2):
        checked, errors = checker.check(given)
        expected_rows = []
        expected_errors = []
        for line, values in enumerate(ROWS, start=2):
            one = parse_transaction_row(line, values, CTX)
            if isinstance(one, RowError):
                expected_errors.append(one)
            else:
                expected_rows.append(one.checked())
        assert errors == expected_errors
        assert [row.line for row in checked] == [row.line for row in expected_rows]
        for bulk, one_row in zip(checked, expected_rows, strict=True):
            _same(bulk, one_row)


def test_a_row_read_from_a_file_is_ordered_as_the_columns_whatever_the_header() -> None:
    fields = ["SH01", " SH01-0001 ", "100001", "2026-06-01T18:30", "128.50", "CNY", ""]
    header = read_header("transactions", ["store_code", "receipt_no", "member_no",
                                          "occurred_at", "amount", "currency", "phone"])
    assert not isinstance(header, RowError)
    ordered = ordered_values("transactions", header, 5, fields)
    mapping = row_values("transactions", header, 5, fields)
    assert not isinstance(mapping, RowError)
    assert ordered == tuple(mapping.get(column, "") for column in TRANSACTION_COLUMNS)
    assert ordered[0] == "SH01-0001" and ordered[-1] == ""
    wrong = ordered_values("transactions", header, 5, [*fields, "extra"])
    assert isinstance(wrong, RowError) and wrong.line == 5


def test_the_usual_header_and_row_need_no_mapping() -> None:
    values = sale(receipt_no=" SH01-9 ")
    ordered = ordered_values("transactions", TRANSACTION_COLUMNS, 3, list(values.values()))
    assert ordered == transaction_values(values)
    assert ordered[0] == "SH01-9"


def test_a_local_time_is_in_its_stores_zone() -> None:
    checked, _ = TransactionChecker(CTX).check(
        [(2, transaction_values(sale(store_code="UR01", occurred_at="2026-06-01T12:00")))]
    )
    assert checked[0].occurred_at.tzinfo is ZoneInfo("Asia/Urumqi")
    assert checked[0].occurred_at.astimezone(UTC) == datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
