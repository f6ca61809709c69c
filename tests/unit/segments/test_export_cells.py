"""The segments CSV export never hands a spreadsheet a formula."""

from __future__ import annotations

import pytest

from bot.cli.segments import neutralise


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
        ("+8613800000000", "'+8613800000000"),
        ("-12.50", "'-12.50"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("M00000042", "M00000042"),
        ("0.8312", "0.8312"),
        ("", ""),
    ],
)
def test_cells_starting_like_a_formula_are_quoted_and_others_left_alone(
    cell: str, shown: str
) -> None:
    assert neutralise(cell) == shown
