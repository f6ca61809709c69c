"""The one way the product writes CSV: every cell passes domain.shared.text.csv_cell, so a
member's name such as =HYPERLINK(...) is shown by a spreadsheet, never run as a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


class SafeCsvWriter:
    """csv.writer with formula-like cells neutralised; same writerow/writerows."""

    def __init__(self, stream: _Writable, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        from domain.shared.text import csv_cell

        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(stream: _Writable, **options: Any) -> SafeCsvWriter:
    """What csv.writer(stream, ...) gives, for files a person opens in a spreadsheet."""
    return SafeCsvWriter(stream, **options)
