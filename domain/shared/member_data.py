"""A member's footprint: the one small port through which every feature that stores rows about a
member lets privacy requests and merges reach them.

Three things happen to a member's rows besides the feature's own work:

- a member asks what the chain holds about them (export);
- a member asks to be forgotten, but the chain must keep its books (erase);
- the same person turns out to have two member numbers (a card and a chat sign-up), and one is
  merged into the other (reassign).

Each is easy to get wrong in one place when the rows are spread over ten tables owned by six
features. So each feature that stores rows naming a member implements `MemberData` next to its
tables and declares, in `tables`, which of its columns name a member; storage lists every
implementation in one place, and a test walks the schema and fails when a table naming a member
is declared by nobody. A new feature with a member column cannot forget privacy silently.

What `erase` keeps is as deliberate as what it removes: points, receipts' amounts, coupon values,
survey scores, ticket statuses and SLA times are the chain's accounts and statistics, so rows stay
and numbers stay; names, phone numbers, birthdays, chat accounts and every free text the member
wrote (or that was written to or about them) are removed or replaced by a marker.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

# What an export holds: rows per table, each a JSON-friendly dict of column -> value.
Export = dict[str, list[dict[str, Any]]]

# What erased personal fields become where the column must hold something: readable for staff
# ("this member asked to be forgotten"), and never mistaken for a real name or a real message.
ERASED_NAME = "[erased member]"
ERASED_TEXT = "[erased]"
ERASED_REASON = "member erased"  # why a message waiting to be sent to them never will be


class MemberData(Protocol):
    """One feature's rows about a member: what it holds, how to forget it, how to move it.

    Every method runs inside the caller's transaction and never commits: an erase or a merge
    touches every feature, and either all of it happens or none of it does.
    """

    # The feature's name, as in domain/<name>/: where to look when a table is missing.
    name: str
    # Table name -> the columns of it that hold a member's id. The coverage test compares this
    # with the schema; rows found another way (a ticket's thread through the ticket) are said
    # in the implementation's docstring.
    tables: Mapping[str, tuple[str, ...]]

    async def export(self, member_id: int) -> Export:
        """The member's rows, per table, JSON-friendly (times as ISO 8601, bytes as base64).

        Everything the feature holds about them, including what staff wrote about them; the
        caller decides what of it a member is shown.
        """
        ...

    async def erase(self, member_id: int) -> int:
        """Remove or replace the member's personal fields and free text; return the rows
        changed or removed.

        Rows that the chain's accounts or statistics count (ledger entries, receipts, coupons,
        scores, tickets) stay with their numbers; only what identifies or quotes the person
        goes. Running it twice changes nothing the second time that matters.
        """
        ...

    async def reassign(self, from_member_id: int, to_member_id: int) -> int:
        """Move the rows of `from_member_id` to `to_member_id` (the member kept in a merge);
        return the rows moved.

        Where a uniqueness rule would be broken by the move, the implementation's docstring says
        what it does instead. The `from` member's own row is left for the caller, who decides
        whether it is deleted or kept as a pointer to the other.
        """
        ...


def json_friendly(value: Any) -> Any:
    """`value` as something `json.dumps` takes and a person can read: dates and times as ISO
    8601, money as a decimal string, bytes (a coupon's QR code) as base64."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): json_friendly(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [json_friendly(v) for v in value]
    return str(value)


def json_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """One database row (column -> value) as a JSON-friendly dict."""
    return {str(column): json_friendly(value) for column, value in row.items()}


def merge_exports(parts: Iterable[Export]) -> Export:
    """Several features' exports as one: rows of a table two features export (the outbox holds
    messages to a member and the staff's messages about their tickets) are put together, each
    row once."""
    merged: Export = {}
    for part in parts:
        for table, rows in part.items():
            into = merged.setdefault(table, [])
            seen = {_identity(row) for row in into}
            into.extend(row for row in rows if _identity(row) not in seen)
    return merged


def _identity(row: Mapping[str, Any]) -> object:
    return row.get("id", repr(sorted(row.items(), key=lambda item: item[0])))


async def export_member(parts: Iterable[MemberData], member_id: int) -> Export:
    """Everything every feature holds about the member, one list of rows per table."""
    return merge_exports([await part.export(member_id) for part in parts])


async def erase_member(parts: Iterable[MemberData], member_id: int) -> dict[str, int]:
    """Forget the member in every feature; rows changed per feature."""
    return {part.name: await part.erase(member_id) for part in parts}


async def reassign_member(
    parts: Iterable[MemberData], from_member_id: int, to_member_id: int
) -> dict[str, int]:
    """Move every feature's rows of one member to another; rows moved per feature."""
    if from_member_id == to_member_id:
        raise ValueError(f"member {from_member_id} cannot be merged into itself")
    return {part.name: await part.reassign(from_member_id, to_member_id) for part in parts}
