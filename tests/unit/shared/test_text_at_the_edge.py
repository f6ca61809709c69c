"""One id parser and one cleaner for what comes in; safe display for what goes to a terminal."""

from __future__ import annotations

import pytest

from domain.shared.text import MAX_ID, clean_text, parse_id, parse_number, safe_display
from domain.surveys.rules import parse_score_data
from domain.tickets.rules import parse_ticket_number, ticket_of_topic


@pytest.mark.parametrize(
    "raw", ["²", "①", "٤٢", "４２", "-1", "0", "+5", "1e3", "4 2", "", " ", "99999999999999999999",
            str(MAX_ID + 1), "0x10", "42\x00"]
)
def test_digits_that_are_not_plain_ascii_or_not_a_plausible_id_are_refused(raw: str) -> None:
    assert parse_id(raw) is None


def test_a_plain_id_is_read_with_surrounding_blanks_forgiven() -> None:
    assert parse_id("42") == 42
    assert parse_id(" 7 ") == 7
    assert parse_id(str(MAX_ID)) == MAX_ID


def test_a_button_number_is_a_small_ascii_number_within_the_buttons_shown() -> None:
    assert parse_number("3", maximum=4) == 3
    assert parse_number("5", maximum=4) is None
    assert parse_number("²", maximum=9) is None
    assert parse_number("①", maximum=9) is None
    assert parse_number("9" * 400, maximum=9) is None


def test_survey_buttons_with_superscript_or_huge_ids_are_unknown_not_a_crash() -> None:
    assert parse_score_data("sv:²:1:abcdef") is None
    assert parse_score_data("sv:1:²:abcdef") is None
    assert parse_score_data("sv:99999999999999999999:1:abcdef") is None
    assert parse_score_data("sv:12:9:abcdef") == (12, 9, "abcdef")


def test_ticket_numbers_and_topics_take_only_ascii_digits() -> None:
    assert parse_ticket_number("T-000042") == 42
    assert parse_ticket_number("٤٢") is None
    assert parse_ticket_number("²") is None
    assert ticket_of_topic("ticket:²") is None
    assert ticket_of_topic("ticket:99999999999999999999") is None
    assert ticket_of_topic("ticket:12") == 12


def test_nul_and_control_characters_are_dropped_before_the_database_sees_them() -> None:
    assert clean_text("milk\x00 was\x07 sour\x7f") == "milk was sour"
    assert clean_text("line one\r\nline two\rthree\ttab") == "line one\nline two\nthree\ttab"
    assert clean_text("\x85c1 control") == "c1 control"


def test_lone_surrogates_from_invalid_utf8_are_replaced() -> None:
    broken = b"caf\xe9 ok".decode("utf-8", "surrogateescape")
    cleaned = clean_text(broken)
    assert cleaned == "caf\ufffd ok"
    cleaned.encode("utf-8")  # storable


def test_escape_sequences_typed_or_pasted_go_whole() -> None:
    assert clean_text("sour\x1b[D\x1b[Dmilk") == "sourmilk"  # arrow keys without line editing
    assert clean_text("a\x1b]0;owned\x07b") == "ab"  # a window title trick
    assert clean_text("牛奶坏了 🥛") == "牛奶坏了 🥛"


def test_control_characters_going_out_are_shown_as_visible_escapes() -> None:
    shown = safe_display("refund\x1bc\x1b]0;title\x07 \u202eevil")
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert shown == "refund\\x1bc\\x1b]0;title\\x07 \\u202eevil"
    assert safe_display("两行\n\tok") == "两行\n\tok"
