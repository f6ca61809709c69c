"""The parsed rows of an import and the context they are checked against."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from domain.members.model import Member, Store


@dataclass(frozen=True)
class RowError:
    """Why one line of a file was refused; `line` counts from 1, the header being line 1."""

    line: int
    reason: str
    # Set when the row's only problem is a store code the chain does not have: the report
    # names such codes once, with how to add them, instead of one line per row.
    unknown_store: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportContext:
    """What checking a row needs to know about the chain, looked up once per file."""

    default_region: str  # phone numbers without a country code
    timezone: str  # the chain's zone, for members without a store
    currency: str
    now: datetime
    stores: Mapping[str, Store]  # keyed by the upper-cased store code
    # Plausibility ([imports] of the policy): None leaves the check to the column limits.
    max_receipt_amount: Decimal | None = None
    oldest_receipt: datetime | None = None

    @classmethod
    def build(
        cls,
        stores: Iterable[Store],
        *,
        default_region: str,
        timezone: str,
        currency: str,
        now: datetime,
        max_receipt_amount: Decimal | None = None,
        oldest_receipt_days: int | None = None,
    ) -> ImportContext:
        return cls(
            default_region=default_region,
            timezone=timezone,
            currency=currency.upper(),
            now=now,
            stores={store.code.upper(): store for store in stores},
            max_receipt_amount=max_receipt_amount,
            oldest_receipt=now - timedelta(days=oldest_receipt_days)
            if oldest_receipt_days is not None
            else None,
        )


@dataclass(frozen=True)
class MemberRow:
    """A checked line of members.csv; None means the file left the field empty."""

    line: int
    member_no: str
    name: str
    phone: str | None
    birthday: date | None
    store: Store | None
    joined_at: datetime | None
    marketing_consent: bool | None


@dataclass(frozen=True)
class TransactionRow:
    """A checked line of transactions.csv; occurred_at is timezone-aware."""

    line: int
    receipt_no: str
    store: Store
    member_no: str | None
    phone: str | None
    occurred_at: datetime
    amount: Decimal
    currency: str
    original_receipt_no: str | None

    @property
    def is_refund(self) -> bool:
        return self.amount < 0

    @property
    def store_id(self) -> int:
        assert self.store.id is not None
        return self.store.id

    def checked(self) -> CheckedReceipt:
        return CheckedReceipt(
            self.line, self.receipt_no, self.store_id, self.member_no, self.phone,
            self.occurred_at, self.amount, self.currency, self.original_receipt_no,
        )


class CheckedReceipt(NamedTuple):
    """A checked line of transactions.csv as the bulk check makes it: TransactionRow's values
    with the store's id, as a tuple (an import makes one per row; a tuple is made fastest)."""

    line: int
    receipt_no: str
    store_id: int
    member_no: str | None
    phone: str | None
    occurred_at: datetime  # timezone-aware, in the store's zone when the file gave no offset
    amount: Decimal
    currency: str
    original_receipt_no: str | None


@dataclass
class MemberPlan:
    """What a batch of member rows does: who is new, who changed, who is as before."""

    new: list[Member] = field(default_factory=list)
    changed: list[Member] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


# --- the file as a whole -------------------------------------------------------------------


class SeenInFile:
    """Keys earlier lines of the file used, so a repeat is refused naming the first line."""

    def __init__(self) -> None:
        self._lines: dict[str, dict[str, int]] = {}
        self._owners: dict[tuple[str, str], str] = {}

    def claim(self, kind: str, key: str, line: int, owner: str = "") -> int | None:
        """Remember `key` for `line`; return the earlier line when another line had it."""
        earlier = self.first_lines(kind).setdefault(key, line)
        if earlier != line:
            return earlier
        if owner:
            self._owners[(kind, key)] = owner
        return None

    def first_lines(self, kind: str) -> dict[str, int]:
        """The first line of each key of one kind, to claim many keys in a loop
        (`setdefault(key, line)` is `claim` without an owner)."""
        return self._lines.setdefault(kind, {})

    def owner(self, kind: str, key: str) -> str:
        return self._owners.get((kind, key), "")
