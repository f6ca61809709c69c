"""Files and stores for the import tests: CSV text written as a chain's export would be."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import App
from domain.members.model import Store

MEMBERS_HEADER = "member_no,name,phone,birthday,store_code,joined_at,marketing_consent"
TRANSACTIONS_HEADER = (
    "receipt_no,store_code,member_no,phone,occurred_at,amount,currency,original_receipt_no"
)


async def add_stores(app: App) -> tuple[Store, Store]:
    """SH01 in Shanghai (UTC+8) and UR01 in Urumqi (UTC+6)."""
    async with app.uow_factory() as uow:
        shanghai = await uow.stores.add(Store("SH01", "Shanghai", "Asia/Shanghai"))
        urumqi = await uow.stores.add(Store("UR01", "Urumqi", "Asia/Urumqi"))
        await uow.commit()
    return shanghai, urumqi


def csv_file(folder: Path, name: str, header: str, *rows: str, bom: bool = False) -> Path:
    """A CSV file of the header and rows; with `bom`, as Excel's "CSV UTF-8" saves it."""
    path = folder / name
    text = "\n".join((header, *rows)) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def members_file(folder: Path, *rows: str, name: str = "members.csv", bom: bool = False) -> Path:
    return csv_file(folder, name, MEMBERS_HEADER, *rows, bom=bom)


def members_saved_as(path: Path, separator: str, encoding: str, *rows: str) -> Path:
    """A members file of comma-written rows, saved with another separator and encoding, as a
    till or Excel's "Unicode text" writes it."""
    text = "\n".join([MEMBERS_HEADER, *rows]).replace(",", separator) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def transactions_file(folder: Path, *rows: str, name: str = "transactions.csv") -> Path:
    return csv_file(folder, name, TRANSACTIONS_HEADER, *rows)


# Three members of the Shanghai store; times without an offset are Shanghai time.
THREE_MEMBERS = (
    "100001,Li Lei,13800138000,1990-05-17,SH01,2024-03-01 09:30,yes",
    "100002,韩梅梅,+86 139 0013 9000,,SH01,2024-04-02,no",
    "100003,Jim Green,8613700137000,1985-12-01,UR01,2025-01-15T10:00:00,1",
)


def _row_values(header: str, line: str, changes: dict[str, str]) -> dict[str, str]:
    """A file's line as the dict of its columns, with `changes` made."""
    values = dict(zip(header.split(","), line.split(","), strict=True))
    values.update(changes)
    return values


def member_values(**changes: str) -> dict[str, str]:
    """One members.csv row as a dict: member 100001 of SH01, the phone written with spaces."""
    line = "100001,Li Lei,138 0013 8000,1990-05-17,SH01,2024-03-01T09:30,yes"
    return _row_values(MEMBERS_HEADER, line, changes)


def sale_values(**changes: str) -> dict[str, str]:
    """One transactions.csv row as a dict: a sale of 128.50 at SH01 by member 100001."""
    line = "SH01-0001,SH01,100001,,2026-06-01T18:30:00,128.50,CNY,"
    return _row_values(TRANSACTIONS_HEADER, line, changes)
