"""Each line of a members or transactions file is checked on its own and refused with a reason
a shop assistant can act on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.imports.model import ImportContext, MemberRow, RowError, SeenInFile, TransactionRow
from domain.imports.rules import (
    apply_member_row,
    parse_member_row,
    parse_transaction_row,
    plan_members,
    read_header,
    resolve_receipts,
    row_values,
)
from domain.members.model import Member, Store
from tests.support.imports import member_values, sale_values

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
SH01 = Store("SH01", "Shanghai", "Asia/Shanghai", id=1)
UR01 = Store("UR01", "Urumqi", "Asia/Urumqi", id=2)
CTX = ImportContext.build(
    [SH01, UR01], default_region="CN", timezone="Asia/Shanghai", currency="CNY", now=NOW
)


def member(line: int = 7, **changes: str) -> MemberRow:
    row = parse_member_row(line, member_values(**changes), CTX)
    assert isinstance(row, MemberRow), row
    return row


def sale(line: int = 9, **changes: str) -> TransactionRow:
    row = parse_transaction_row(line, sale_values(**changes), CTX)
    assert isinstance(row, TransactionRow), row
    return row


def refused(row: object) -> str:
    assert isinstance(row, RowError), row
    return str(row)


# --- headers ---------------------------------------------------------------------------------


def test_a_header_in_any_order_and_case_is_accepted() -> None:
    names = read_header("members", [" Name", "MEMBER_NO", "phone", "birthday", "store_code",
                                    "joined_at", "marketing_consent"])
    assert names == ("name", "member_no", "phone", "birthday", "store_code", "joined_at",
                     "marketing_consent")


def test_a_transactions_header_without_the_refund_column_is_fine() -> None:
    names = read_header("transactions", list(sale_values())[:-1])
    assert not isinstance(names, RowError)


def test_empty_columns_a_spreadsheet_adds_at_the_end_are_ignored() -> None:
    header = read_header("members", [*member_values(), "", ""])
    assert header == tuple(member_values())
    values = row_values("members", header, 2, [*member_values().values(), ""])
    assert values == member_values()


def test_a_file_without_a_header_is_refused_on_line_1() -> None:
    error = refused(read_header("members", list(member_values().values())))
    assert error.startswith("line 1: there is no header")


def test_a_misspelt_column_is_named() -> None:
    fields = list(member_values())
    fields[2] = "phon"
    error = refused(read_header("members", fields))
    assert error.startswith("line 1:")
    assert "missing phone" in error and "unknown phon" in error


def test_a_transactions_file_given_as_members_says_so() -> None:
    assert "header of a transactions file" in refused(read_header("members", list(sale_values())))


def test_an_empty_file_is_refused_on_line_1() -> None:
    assert refused(read_header("members", [])).startswith("line 1: the file is empty")


def test_a_row_with_too_many_values_is_refused_but_trailing_empty_ones_are_fine() -> None:
    header = read_header("members", list(member_values()))
    assert not isinstance(header, RowError)
    assert not isinstance(row_values("members", header, 3, [*member_values().values(), "", ""]),
                          RowError)
    assert "has 8 values" in refused(
        row_values("members", header, 3, [*member_values().values(), "extra"])
    )
    assert "has 6 values" in refused(
        row_values("members", header, 3, list(member_values().values())[:-1])
    )


# --- members ---------------------------------------------------------------------------------


def test_a_good_member_row_is_parsed_with_the_phone_in_e164_and_times_in_the_stores_zone() -> None:
    row = member()
    assert row.phone == "+8613800138000"
    assert row.birthday == date(1990, 5, 17)
    assert row.store == SH01
    assert row.joined_at == datetime(2024, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert row.marketing_consent is True


@pytest.mark.parametrize(
    ("word", "consent"),
    [("true", True), ("YES", True), ("1", True), ("false", False), ("No", False), ("0", False),
     ("", None)],
)
def test_consent_is_read_from_the_usual_words(word: str, consent: bool | None) -> None:
    assert member(marketing_consent=word).marketing_consent is consent


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"member_no": ""}, "member_no is empty"),
        ({"name": "  "}, "name is empty"),
        ({"phone": "12345"}, "phone '*2345' is not a valid phone number"),
        ({"birthday": "17/05/1990"}, "birthday written '##/##/####' is not a date as YYYY-MM-DD"),
        ({"birthday": "1990-02-30"}, "is not a date"),
        ({"birthday": "2030-01-01"}, "birthday is in the future: not a plausible birthday"),
        ({"birthday": "1800-01-01"}, "years ago: not a plausible birthday"),
        ({"store_code": "BJ99"}, "store_code 'BJ99' is not a store of the chain"),
        ({"joined_at": "yesterday"}, "joined_at 'yesterday' is not a date and time"),
        ({"joined_at": "2027-01-01"}, "joined_at 2027-01-01 is in the future"),
        ({"marketing_consent": "maybe"}, "marketing_consent 'maybe' must be"),
    ],
)
def test_a_bad_member_row_is_refused_with_its_line_and_reason(
    changes: dict[str, str], reason: str
) -> None:
    error = refused(parse_member_row(7, member_values(**changes), CTX))
    assert error.startswith("line 7: ")
    assert reason in error


def test_every_problem_of_a_row_is_named_at_once() -> None:
    error = refused(parse_member_row(4, member_values(phone="1", birthday="x"), CTX))
    assert "phone" in error and "birthday" in error


def test_store_codes_are_matched_without_regard_to_case() -> None:
    assert member(store_code="ur01").store == UR01


def test_empty_optional_member_fields_are_not_known_rather_than_erased() -> None:
    row = member(phone="", birthday="", store_code="", joined_at="", marketing_consent="")
    assert (row.phone, row.birthday, row.store, row.joined_at, row.marketing_consent) == (
        None, None, None, None, None,
    )
    existing = Member("100001", "Li Lei", "+8613800138000", NOW, birthday=date(1990, 5, 17),
                      home_store_id=1, marketing_consent=True, id=5)
    assert apply_member_row(existing, row) == existing


def test_a_member_who_said_stop_in_the_chat_stays_opted_out_whatever_the_file_says() -> None:
    existing = Member("100001", "Li Lei", "+8613800138000", NOW, marketing_consent=False,
                      opted_out_at=NOW, id=5)
    assert apply_member_row(existing, member(marketing_consent="yes")).marketing_consent is False


# --- member plans ----------------------------------------------------------------------------


def test_a_phone_that_belongs_to_another_member_is_refused_naming_both_numbers() -> None:
    owner = Member("100002", "Han Meimei", "+8613800138000", NOW, id=2)
    plan = plan_members(
        [member(member_no="100009")], {}, {"+8613800138000": owner}, SeenInFile(), NOW
    )
    assert [str(e) for e in plan.errors] == [
        "line 7: phone **********8000 already belongs to member 100002 (row is member 100009)"
    ]
    assert plan.new == []


def test_two_rows_of_a_file_with_one_phone_are_refused_naming_the_first() -> None:
    first = parse_member_row(2, member_values(member_no="100001"), CTX)
    second = parse_member_row(5, member_values(member_no="100005"), CTX)
    assert isinstance(first, MemberRow) and isinstance(second, MemberRow)
    plan = plan_members([first, second], {}, {}, SeenInFile(), NOW)
    assert [m.member_no for m in plan.new] == ["100001"]
    assert "already belongs to member 100001 on line 2 (row is member 100005)" in str(
        plan.errors[0]
    )


def test_a_member_listed_twice_in_a_file_is_refused_the_second_time() -> None:
    seen = SeenInFile()
    plan_members([member()], {}, {}, seen, NOW)
    again = plan_members([member(line=12, phone="")], {}, {}, seen, NOW)
    assert "member 100001 is already on line 7" in str(again.errors[0])


def test_an_existing_member_is_updated_only_when_something_changed() -> None:
    row = member()
    existing = Member("100001", "Li Lei", "+8613800138000", NOW, birthday=date(1990, 5, 17),
                      home_store_id=1, marketing_consent=True, id=5)
    same = plan_members([row], {"100001": existing}, {"+8613800138000": existing},
                        SeenInFile(), NOW)
    assert (same.unchanged, same.changed, same.new) == (1, [], [])
    renamed = plan_members([member(name="Li  Lei Jr")], {"100001": existing},
                           {"+8613800138000": existing}, SeenInFile(), NOW)
    assert [m.name for m in renamed.changed] == ["Li Lei Jr"]
    assert renamed.changed[0].id == 5


def test_a_new_member_without_a_join_date_joined_at_import_time() -> None:
    plan = plan_members([member(joined_at="")], {}, {}, SeenInFile(), NOW)
    assert plan.new[0].joined_at == NOW
    assert plan.new[0].acquired_store_id == SH01.id


# --- transactions ----------------------------------------------------------------------------


def test_a_receipt_time_without_offset_is_the_stores_local_time() -> None:
    assert sale().occurred_at == datetime(2026, 6, 1, 10, 30, tzinfo=UTC)
    urumqi = sale(store_code="UR01")
    assert urumqi.occurred_at == datetime(2026, 6, 1, 12, 30, tzinfo=UTC)


def test_a_receipt_time_with_an_offset_keeps_it() -> None:
    assert sale(occurred_at="2026-06-01T18:30:00Z").occurred_at == datetime(
        2026, 6, 1, 18, 30, tzinfo=UTC
    )


def test_a_refund_row_names_its_original_receipt() -> None:
    row = sale(receipt_no="SH01-0002", amount="-28.50", original_receipt_no="SH01-0001")
    assert row.is_refund and row.amount == Decimal("-28.50")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"receipt_no": ""}, "receipt_no is empty"),
        ({"store_code": "XX01"}, "store_code 'XX01' is not a store of the chain"),
        ({"store_code": ""}, "store_code is empty"),
        ({"member_no": "", "phone": ""}, "member_no and phone are both empty"),
        ({"occurred_at": "2026-13-01 10:00"}, "occurred_at '2026-13-01 10:00' is not a date"),
        ({"occurred_at": ""}, "occurred_at is empty"),
        ({"occurred_at": "2026-07-01T10:00"}, "is in the future"),
        ({"amount": "12.345"}, "amount 12.345 has more than 2 decimal places"),
        ({"amount": "12,50"}, "amount '12,50' is not an amount"),
        ({"amount": "1e3"}, "is not an amount"),
        ({"amount": ""}, "amount is empty"),
        ({"amount": "123456789.00"}, "is larger than"),
        ({"currency": "RMB1"}, "currency 'RMB1' must be a 3-letter code"),
        ({"currency": "USD"}, "currency USD is not the chain's currency CNY"),
        ({"amount": "-10.00"}, "a refund (negative amount) needs original_receipt_no"),
        ({"original_receipt_no": "SH01-0000"}, "original_receipt_no is only for refunds"),
        ({"amount": "-1", "original_receipt_no": "SH01-0001"}, "cannot refund itself"),
        ({"phone": "555"}, "phone '***' is not a valid phone number"),
    ],
)
def test_a_bad_receipt_row_is_refused_with_its_line_and_reason(
    changes: dict[str, str], reason: str
) -> None:
    error = refused(parse_transaction_row(9, sale_values(**changes), CTX))
    assert error.startswith("line 9: ")
    assert reason in error


def test_an_empty_currency_is_the_chains() -> None:
    assert sale(currency="").currency == "CNY"
    assert sale(currency="cny").currency == "CNY"


def test_receipts_are_resolved_to_members_by_number_or_by_phone() -> None:
    rows = [
        sale(),
        sale(10, receipt_no="SH01-0002", member_no="", phone="13800138000"),
        sale(11, receipt_no="SH01-0003", member_no="100404"),
        sale(12, receipt_no="SH01-0004", member_no="", phone="13900139000"),
        sale(13, receipt_no="SH01-0001"),
    ]
    receipts, errors = resolve_receipts(
        rows, {"100001": 1}, {"+8613800138000": 1}, SeenInFile()
    )
    assert [(r.receipt_no, r.member_id) for _, r in receipts] == [
        ("SH01-0001", 1), ("SH01-0002", 1)
    ]
    reasons = [e.reason for e in errors]
    assert reasons == [
        "member 100404 is unknown (import the members first)",
        "no member has the phone **********9000",
        "receipt SH01-0001 is already on line 9",
    ]


def test_a_receipt_whose_phone_belongs_to_another_member_than_its_number_is_refused() -> None:
    _, errors = resolve_receipts(
        [sale(phone="13800138000")], {"100001": 1}, {"+8613800138000": 2}, SeenInFile()
    )
    assert "belongs to another member than 100001" in errors[0].reason


@pytest.mark.parametrize("birthday", ["17/05/1990", "1990-02-30", "2030-01-01", "1800-01-01"])
def test_a_refused_birthday_is_not_repeated_in_the_report(birthday: str) -> None:
    """A birthday is personal data and the report is often mailed by cron: the reason says how
    the value was written or what is wrong with it, never the date."""
    error = refused(parse_member_row(7, member_values(birthday=birthday), CTX))
    assert "birthday" in error
    said = error.removeprefix("line 7: ").replace("(or 1990/05/31)", "")  # the fixed example
    for part in birthday.replace("/", "-").split("-"):
        assert part not in said, error
