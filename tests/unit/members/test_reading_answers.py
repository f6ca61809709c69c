"""Dates, yes/no and "skip" are read one way, for the chat's join flow and the import alike."""

from __future__ import annotations

from datetime import date

import pytest

from domain.members.rules import is_skip, read_date, read_yes_no


@pytest.mark.parametrize(
    "typed",
    ["1999-02-03", "1999/2/3", "1999.2.3", "1999年2月3日", "1999年02月03号", "1999年2月3",
     "１９９９／２／３", " 1999-2-3 ", "19990203", "1999 2 3"],
)
def test_a_birthday_is_read_in_every_usual_form(typed: str) -> None:
    assert read_date(typed) == date(1999, 2, 3)


@pytest.mark.parametrize(
    "typed", ["1999-02-30", "3/2/1999", "Feb 3", "1999年13月1日", "", "99-2-3"]
)
def test_what_is_no_date_is_none(typed: str) -> None:
    assert read_date(typed) is None


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("yes", True), ("Y", True), ("true", True), ("1", True), ("是", True), ("好的", True),
     ("no", False), ("FALSE", False), ("0", False), ("否", False), ("不要", False),
     ("maybe", None), ("", None)],
)
def test_yes_and_no_in_both_languages(typed: str, meant: bool | None) -> None:
    assert read_yes_no(typed) is meant


@pytest.mark.parametrize(("typed", "meant"), [("skip", True), ("Skip.", True), ("跳过", True),
                                               ("不填", True), ("1999-02-03", False)])
def test_skip_in_both_languages(typed: str, meant: bool) -> None:
    assert is_skip(typed) is meant
