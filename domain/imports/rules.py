"""Checking the chain's CSV exports row by row: each row becomes a parsed row or a RowError.

Everything here is plain data in, plain data out, so every rule of the import can be tested
without a database. Transactions files are checked a chunk at a time by TransactionChecker,
which accepts the usual row faster and hands every other row to parse_transaction_row, the one
statement of the rules. bot/importer.py reads the file, looks things up in bulk and books the
result; the demo seeder feeds the same functions, so the demo exercises the importer.

Decisions a shop would ask about:

- An empty birthday, phone, store or consent in a members file means "not known here", never
  "erase it": a nightly POS export must not wipe a birthday the member gave in the chat.
- A member who withdrew marketing consent in the chat (/stop) stays opted out even when a file
  says yes; only the member can give consent back.
- A time without an offset is the local time of the row's store (members without a store: the
  chain's time zone). Receipts from the future are refused.
- member_no is the member's key on a receipt; a phone that belongs to someone else as well is
  refused as ambiguous, a phone we do not know yet is ignored when member_no is given.
- A member row is checked against who owns a phone before the file, so two members swapping
  phones takes two imports (or staff): the database never holds one number twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.imports.model import (
    CheckedReceipt,
    ImportContext,
    MemberPlan,
    MemberRow,
    RowError,
    SeenInFile,
    TransactionRow,
)
from domain.loyalty.model import Receipt
from domain.members.model import Member, Store
from domain.members.rules import read_date, read_yes_no
from domain.shared.clock import local_day
from domain.shared.errors import InvalidPhone
from domain.shared.phones import mask_phone, normalize_phone
from domain.shared.text import safe_display

MEMBER_COLUMNS = (
    "member_no",
    "name",
    "phone",
    "birthday",
    "store_code",
    "joined_at",
    "marketing_consent",
)
TRANSACTION_COLUMNS = (
    "receipt_no",
    "store_code",
    "member_no",
    "phone",
    "occurred_at",
    "amount",
    "currency",
    "original_receipt_no",
)
COLUMNS = {"members": MEMBER_COLUMNS, "transactions": TRANSACTION_COLUMNS}
# Only refunds use it, so exports of sales alone may leave the column out.
OPTIONAL_COLUMNS = {
    "members": frozenset[str](),
    "transactions": frozenset({"original_receipt_no"}),
}

# Column sizes of the database, checked here so a long value is a row error, not a crash.
MAX_MEMBER_NO = 32
MAX_NAME = 120
MAX_RECEIPT_NO = 64
MAX_AMOUNT = Decimal("99999999.99")  # keeps points of one receipt inside a 32-bit column
FUTURE_SLACK = timedelta(minutes=10)  # a till clock a little ahead is not an error
OLDEST_AGE_YEARS = 120
KEPT_VALUES = 100_000  # distinct stores, currencies, phones or amounts the bulk check keeps
_ANY_OFFSET = timedelta(days=1)  # more than any zone's offset from UTC

_UNKNOWN_STORE = re.compile(r"store_code '(.*)' is not a store of the chain")
_AMOUNT = re.compile(r"^[+-]?\d+(\.\d+)?$")
# The form nearly every till writes, and every one of them within MAX_AMOUNT: "123.45", "-8".
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,8}(?:\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


# --- the header ----------------------------------------------------------------------------


def read_header(what: str, fields: Sequence[str]) -> tuple[str, ...] | RowError:
    """The file's column names in file order, or a RowError for line 1 saying what is wrong.

    Names are matched without regard to case and surrounding spaces, in any order; every
    column except the optional ones must be there, and unknown names are refused because they
    are usually a typo of a column that then looks empty.
    """
    expected = COLUMNS[what]
    spelled = ",".join(expected)
    cleaned = [name.strip().lstrip("\ufeff").strip().lower() for name in fields]
    while cleaned and not cleaned[-1]:
        cleaned.pop()  # spreadsheets add empty columns at the end; they mean nothing
    names = tuple(cleaned)
    if not any(names):
        return RowError(1, f"the file is empty; the first line must be the header {spelled}")
    known = set(expected)
    if not known.intersection(names):
        shown = ",".join(fields)[:60]
        return RowError(
            1,
            f"there is no header; the first line must be {spelled} (it is {shown!r})",
        )
    problems = []
    missing = [n for n in expected if n not in names and n not in OPTIONAL_COLUMNS[what]]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    unknown = [n or "(empty)" for n in names if n not in known]
    if unknown:
        problems.append(f"unknown {', '.join(unknown)}")
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        problems.append(f"given twice: {', '.join(twice)}")
    other = "transactions" if what == "members" else "members"
    if set(names) >= set(COLUMNS[other]) - OPTIONAL_COLUMNS[other]:
        problems.append(f"this is the header of a {other} file")
    if problems:
        return RowError(1, f"the header must be {spelled} ({'; '.join(problems)})")
    return names


def row_values(
    what: str, header: Sequence[str], line: int, fields: Sequence[str]
) -> dict[str, str] | RowError:
    """Pair a line's fields with the header; empty trailing fields (spreadsheets add them) and
    missing trailing optional fields are fine, other count mismatches are not."""
    values = [value.strip() for value in fields]
    while len(values) > len(header) and values[-1] == "":
        values.pop()
    if len(values) > len(header):
        return RowError(line, f"has {len(values)} values but the header has {len(header)} columns")
    if len(values) < len(header):
        absent = header[len(values) :]
        if not set(absent) <= OPTIONAL_COLUMNS[what]:
            return RowError(
                line, f"has {len(values)} values but the header has {len(header)} columns"
            )
        values.extend("" for _ in absent)
    return dict(zip(header, values, strict=True))


def ordered_values(
    what: str, header: Sequence[str], line: int, fields: Sequence[str]
) -> tuple[str, ...] | RowError:
    """row_values as a tuple in the order of COLUMNS[what], a column the file leaves out being
    empty: how the bulk check of transactions takes a row."""
    columns = COLUMNS[what]
    if len(fields) == len(header) and tuple(header) == columns:
        return tuple([value.strip() for value in fields])  # the usual file: no dict made
    values = row_values(what, header, line, fields)
    if isinstance(values, RowError):
        return values
    return tuple([values.get(column, "") for column in columns])


def transaction_values(values: Mapping[str, str]) -> tuple[str, ...]:
    """A transactions row given as {column: text} (the demo's), as ordered_values gives it."""
    return tuple([values.get(column, "").strip() for column in TRANSACTION_COLUMNS])


# --- members -------------------------------------------------------------------------------


def parse_member_row(
    line: int, values: Mapping[str, str], ctx: ImportContext
) -> MemberRow | RowError:
    """Check one members.csv line; every problem of the line is named in one reason."""
    problems: list[str] = []
    member_no = _required_number(values, "member_no", MAX_MEMBER_NO, "member number", problems)

    name = " ".join(values.get("name", "").split())
    if not name:
        problems.append("name is empty")
    elif len(name) > MAX_NAME or not name.isprintable():
        problems.append(f"name is longer than {MAX_NAME} characters or holds control characters")

    phone = _phone(values.get("phone", ""), ctx, problems)
    store = _store(values.get("store_code", ""), ctx, problems, required=False)
    zone = store.timezone if store else ctx.timezone
    birthday = _birthday(values.get("birthday", ""), local_day(ctx.now, zone), problems)

    joined_at = None
    raw_joined = values.get("joined_at", "").strip()
    if raw_joined:
        joined_at = _moment(raw_joined, zone, "joined_at", problems)
        if joined_at is not None and joined_at > ctx.now + FUTURE_SLACK:
            problems.append(f"joined_at {raw_joined} is in the future")

    consent = None
    raw_consent = values.get("marketing_consent", "").strip()
    if raw_consent:
        consent = read_yes_no(raw_consent)  # the chat's reading: yes/no, 1/0, 是/否...
        if consent is None:
            problems.append(
                f"marketing_consent {safe_display(raw_consent)!r} must be true/false, yes/no, "
                "1/0 or 是/否"
            )

    if problems:
        return _refused(line, problems)
    return MemberRow(line, member_no, name, phone, birthday, store, joined_at, consent)


def plan_members(
    rows: Sequence[MemberRow],
    existing: Mapping[str, Member],
    phone_owners: Mapping[str, Member],
    seen: SeenInFile,
    now: datetime,
) -> MemberPlan:
    """Decide what each row does, given the members of these numbers and the owners of these
    phones as the database has them; rows repeating an earlier row of the file are refused."""
    plan = MemberPlan()
    for row in rows:
        problem = _member_conflict(row, phone_owners, seen)
        if problem:
            plan.errors.append(RowError(row.line, problem))
            continue
        current = existing.get(row.member_no)
        if current is None:
            plan.new.append(_new_member(row, now))
            continue
        updated = apply_member_row(current, row)
        if updated == current:
            plan.unchanged += 1
        else:
            plan.changed.append(updated)
    return plan


def _member_conflict(
    row: MemberRow, phone_owners: Mapping[str, Member], seen: SeenInFile
) -> str | None:
    earlier = seen.claim("member", row.member_no, row.line)
    if earlier is not None:
        return f"member {row.member_no} is already on line {earlier}"
    if row.phone is None:
        return None
    owner = phone_owners.get(row.phone)
    if owner is not None and owner.member_no != row.member_no:
        return (
            f"phone {mask_phone(row.phone)} already belongs to member {owner.member_no} "
            f"(row is member {row.member_no})"
        )
    earlier = seen.claim("phone", row.phone, row.line, owner=row.member_no)
    if earlier is not None:
        return (
            f"phone {mask_phone(row.phone)} already belongs to member "
            f"{seen.owner('phone', row.phone)} "
            f"on line {earlier} (row is member {row.member_no})"
        )
    return None


def _new_member(row: MemberRow, now: datetime) -> Member:
    store_id = row.store.id if row.store else None
    return Member(
        member_no=row.member_no,
        name=row.name,
        phone=row.phone,
        joined_at=row.joined_at or now,
        birthday=row.birthday,
        home_store_id=store_id,
        acquired_store_id=store_id,
        marketing_consent=bool(row.marketing_consent),
    )


def apply_member_row(member: Member, row: MemberRow) -> Member:
    """The member as the row wants it: a copy with the given fields, empty fields kept."""
    consent = member.marketing_consent
    if row.marketing_consent is not None:
        # An opt-out from the chat wins over a file: only the member gives consent back.
        consent = row.marketing_consent and member.opted_out_at is None
    return replace(
        member,
        name=row.name,
        phone=row.phone if row.phone is not None else member.phone,
        birthday=row.birthday if row.birthday is not None else member.birthday,
        home_store_id=row.store.id if row.store is not None else member.home_store_id,
        marketing_consent=consent,
    )


# --- transactions --------------------------------------------------------------------------


def parse_transaction_row(
    line: int, values: Mapping[str, str], ctx: ImportContext
) -> TransactionRow | RowError:
    """Check one transactions.csv line; every problem of the line is named in one reason."""
    problems: list[str] = []
    receipt_no = _required_number(
        values, "receipt_no", MAX_RECEIPT_NO, "receipt number", problems
    )

    store = _store(values.get("store_code", ""), ctx, problems, required=True)

    member_no = values.get("member_no", "").strip() or None
    if member_no is not None and len(member_no) > MAX_MEMBER_NO:
        problems.append(f"member_no {member_no[:40]!r} is not a usable member number")
    phone = _phone(values.get("phone", ""), ctx, problems)
    if member_no is None and phone is None and not values.get("phone", "").strip():
        problems.append("member_no and phone are both empty; one says whose receipt it is")

    occurred_at = None
    raw_when = values.get("occurred_at", "").strip()
    if not raw_when:
        problems.append("occurred_at is empty")
    elif store is not None:
        occurred_at = _moment(raw_when, store.timezone, "occurred_at", problems)
        if occurred_at is not None and occurred_at > ctx.now + FUTURE_SLACK:
            problems.append(f"occurred_at {raw_when} is in the future")

    amount = _amount(values.get("amount", ""), problems)

    currency = values.get("currency", "").strip().upper() or ctx.currency
    if not _CURRENCY.match(currency):
        problems.append(f"currency {currency!r} must be a 3-letter code such as {ctx.currency}")
    elif currency != ctx.currency:
        # Spend in two currencies cannot be added up for tiers, nor turned into the same points.
        problems.append(f"currency {currency} is not the chain's currency {ctx.currency}")

    original = values.get("original_receipt_no", "").strip() or None
    if amount is not None:
        if amount < 0 and original is None:
            problems.append("a refund (negative amount) needs original_receipt_no")
        elif amount >= 0 and original is not None:
            problems.append("original_receipt_no is only for refunds (a negative amount)")
    if original is not None and original == receipt_no:
        problems.append("a refund cannot refund itself (original_receipt_no is receipt_no)")
    elif original is not None and len(original) > MAX_RECEIPT_NO:
        problems.append(f"original_receipt_no {original[:40]!r} is not a usable receipt number")

    limit = ctx.max_receipt_amount
    if amount is not None and limit is not None and abs(amount) > limit:
        problems.append(
            f"amount {amount} is above the policy's maximum per receipt {limit} "
            "(imports.max_receipt_amount)"
        )
    oldest = ctx.oldest_receipt
    if occurred_at is not None and oldest is not None and occurred_at < oldest:
        problems.append(
            f"occurred_at {safe_display(raw_when)} is older than the policy allows "
            "(imports.oldest_receipt_days); a date this old is usually a missing value"
        )

    if problems:
        return _refused(line, problems)
    assert store is not None and occurred_at is not None and amount is not None
    return TransactionRow(
        line, receipt_no, store, member_no, phone, occurred_at, amount, currency, original
    )


class TransactionChecker:
    """Checks the rows of one transactions file in bulk, what the file repeats being worked out
    once: stores and their zones by code, currencies, phones and amounts by their text.

    Rows come as ordered_values gives them. A row the quick check is not sure of (anything
    wrong with it, a time with an offset, an amount written otherwise than 123.45) goes through
    parse_transaction_row, so every value accepted and every reason given is that function's:
    the quick check only says yes faster to the rows it would accept.
    """

    def __init__(self, ctx: ImportContext) -> None:
        self.ctx = ctx
        self._future = ctx.now + FUTURE_SLACK
        # Local times before this are in the past and after _recent not too old, whatever the
        # store's zone (offsets are within a day): most rows need no zone arithmetic for these.
        self._past = _naive_utc(self._future) - _ANY_OFFSET
        oldest = ctx.oldest_receipt
        self._recent = None if oldest is None else _naive_utc(oldest) + _ANY_OFFSET
        # Each distinct text worked out once (at most KEPT_VALUES kept: a file of millions of
        # rows keeps its memory bounded).
        self._store = lru_cache(maxsize=KEPT_VALUES)(self._work_out_store)
        self._currency = lru_cache(maxsize=KEPT_VALUES)(self._work_out_currency)
        self._phone = lru_cache(maxsize=KEPT_VALUES)(self._work_out_phone)
        self._amount = lru_cache(maxsize=KEPT_VALUES)(self._work_out_amount)

    def check(
        self, rows: Sequence[tuple[int, Sequence[str]]]
    ) -> tuple[list[CheckedReceipt], list[RowError]]:
        """The checked rows in file order, and the RowError of each refused one."""
        checked: list[CheckedReceipt] = []
        errors: list[RowError] = []
        for line, values in rows:
            row = self._quick(line, values)
            if row is None:
                parsed = parse_transaction_row(
                    line, dict(zip(TRANSACTION_COLUMNS, values, strict=True)), self.ctx
                )
                if isinstance(parsed, RowError):
                    errors.append(parsed)
                    continue
                row = parsed.checked()
            checked.append(row)
        return checked, errors

    def _quick(self, line: int, values: Sequence[str]) -> CheckedReceipt | None:
        receipt_no, code, member_no, phone, when, amount_text, currency, original = values
        if not receipt_no or len(receipt_no) > MAX_RECEIPT_NO or not receipt_no.isprintable():
            return None
        store = self._store(code)
        if store is None:
            return None
        if member_no:
            if len(member_no) > MAX_MEMBER_NO:
                return None
        elif not phone:
            return None
        e164 = None
        if phone:
            e164 = self._phone(phone)
            if e164 is None:
                return None
        try:
            local = datetime.fromisoformat(when)
        except ValueError:
            return None
        if local.tzinfo is not None:
            return None
        # What parse_transaction_row's replace(tzinfo=...) gives, made faster.
        occurred_at = datetime.combine(local, local.time(), store[1])
        if local >= self._past and occurred_at > self._future:
            return None
        recent = self._recent
        if recent is not None and local <= recent:
            oldest = self.ctx.oldest_receipt
            if oldest is not None and occurred_at < oldest:
                return None
        amount = self._amount(amount_text)
        if amount is None:
            return None
        if amount < 0:
            if not original or original == receipt_no or len(original) > MAX_RECEIPT_NO:
                return None
        elif original:
            return None
        if not self._currency(currency):
            return None
        return CheckedReceipt(
            line, receipt_no, store[0], member_no or None, e164, occurred_at, amount,
            self.ctx.currency, original or None,
        )

    def _work_out_store(self, code: str) -> tuple[int, ZoneInfo] | None:
        store = self.ctx.stores.get(code.upper()) if code else None
        return None if store is None or store.id is None else (store.id, ZoneInfo(store.timezone))

    def _work_out_phone(self, raw: str) -> str | None:
        problems: list[str] = []
        e164 = _phone(raw, self.ctx, problems)
        return None if problems else e164

    def _work_out_amount(self, raw: str) -> Decimal | None:
        amount = Decimal(raw) if _PLAIN_AMOUNT.fullmatch(raw) else None
        limit = self.ctx.max_receipt_amount
        if amount is not None and limit is not None and abs(amount) > limit:
            return None
        return amount

    def _work_out_currency(self, raw: str) -> bool:
        currency = raw.upper() or self.ctx.currency
        return bool(_CURRENCY.match(currency)) and currency == self.ctx.currency




def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def resolve_receipts(
    rows: Sequence[CheckedReceipt | TransactionRow],
    ids_by_member_no: Mapping[str, int],
    ids_by_phone: Mapping[str, int],
    seen: SeenInFile,
) -> tuple[list[tuple[int, Receipt]], list[RowError]]:
    """Turn checked rows into receipts of known members, paired with their line numbers.

    A receipt number used earlier in the file is refused (the first one counts); a receipt
    number already in the database is not an error here: booking skips it as a duplicate, so
    importing a file twice is harmless.
    """
    receipts: list[tuple[int, Receipt]] = []
    errors: list[RowError] = []
    first_lines = seen.first_lines("receipt")
    for row in rows:
        line = row.line
        earlier = first_lines.setdefault(row.receipt_no, line)
        if earlier != line:
            errors.append(
                RowError(line, f"receipt {row.receipt_no} is already on line {earlier}")
            )
            continue
        member_id: int | None
        if row.member_no is not None and row.phone is None:  # the usual row: a number alone
            member_id = ids_by_member_no.get(row.member_no)
            problem = "" if member_id is not None else (
                f"member {row.member_no} is unknown (import the members first)"
            )
        else:
            member_id, problem = _whose(row, ids_by_member_no, ids_by_phone)
        if member_id is None:
            errors.append(RowError(line, problem))
            continue
        receipts.append(
            (
                line,
                Receipt(
                    row.receipt_no,
                    row.store_id,
                    member_id,
                    row.occurred_at,
                    row.amount,
                    row.currency,
                    row.original_receipt_no,
                ),
            )
        )
    return receipts, errors


def _whose(
    row: CheckedReceipt | TransactionRow, by_no: Mapping[str, int], by_phone: Mapping[str, int]
) -> tuple[int | None, str]:
    by_that_phone = by_phone.get(row.phone) if row.phone else None
    if row.member_no is not None:
        member_id = by_no.get(row.member_no)
        if member_id is None:
            return None, f"member {row.member_no} is unknown (import the members first)"
        if by_that_phone is not None and by_that_phone != member_id:
            return None, (
                f"phone {mask_phone(row.phone or '')} belongs to another member than "
                f"{row.member_no}"
            )
        return member_id, ""
    if by_that_phone is None:
        return None, f"no member has the phone {mask_phone(row.phone or '')}"
    return by_that_phone, ""


# --- single values -------------------------------------------------------------------------


def _refused(line: int, problems: list[str]) -> RowError:
    only = problems[0] if len(problems) == 1 else ""
    found = _UNKNOWN_STORE.fullmatch(only)
    return RowError(line, "; ".join(problems), unknown_store=found.group(1) if found else "")


def _phone(raw: str, ctx: ImportContext, problems: list[str]) -> str | None:
    text = raw.strip()
    if not text:
        return None
    try:
        # A till's file is strict about the region: without a + the number must be the
        # chain's own (the chat is lenient, as Telegram sends contacts without the +).
        return normalize_phone(text, ctx.default_region, plus_optional=False)
    except InvalidPhone as exc:
        several = "more than one" in str(exc)
        shown = mask_phone(safe_display(text))  # rejected-row lines are read by many
        problems.append(
            f"phone {shown!r} holds more than one phone number" if several
            else f"phone {shown!r} is not a valid phone number for the chain's region "
            f"{ctx.default_region} (write +country code for others)"
        )
        return None


def _required_number(
    values: Mapping[str, str], column: str, longest: int, what: str, problems: list[str]
) -> str:
    """A member or receipt number that must be there: at most `longest` characters, all of
    them printable."""
    number = values.get(column, "").strip()
    if not number:
        problems.append(f"{column} is empty")
    elif len(number) > longest or not number.isprintable():
        problems.append(f"{column} {number[:40]!r} is not a usable {what}")
    return number


def _store(raw: str, ctx: ImportContext, problems: list[str], *, required: bool) -> Store | None:
    code = raw.strip()
    if not code:
        if required:
            problems.append("store_code is empty")
        return None
    store = ctx.stores.get(code.upper())
    if store is None:
        problems.append(f"store_code {safe_display(code)!r} is not a store of the chain")
    return store


def _birthday(raw: str, today: date, problems: list[str]) -> date | None:
    text = raw.strip()
    if not text:
        return None
    day = read_date(text)  # the chat's reading: 1990-05-31, 1990/05/31, 1990年5月31日...
    # A birthday is personal data: the report (often mailed by cron) shows how it was written,
    # digits hidden, never the date itself.
    if day is None:
        problems.append(
            f"birthday written {_shape(text)!r} is not a date as YYYY-MM-DD (or 1990/05/31)"
        )
        return None
    if day > today:
        problems.append("birthday is in the future: not a plausible birthday")
        return None
    if day.year < today.year - OLDEST_AGE_YEARS:
        problems.append(
            f"birthday is more than {OLDEST_AGE_YEARS} years ago: not a plausible birthday"
        )
        return None
    return day


def _shape(text: str) -> str:
    """How a value is written with every digit shown as #: "17/05/1990" -> "##/##/####"."""
    return safe_display("".join("#" if ch.isdigit() else ch for ch in text))


def _moment(raw: str, zone: str, column: str, problems: list[str]) -> datetime | None:
    """An ISO 8601 date and time; without an offset it is local time in `zone`."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        problems.append(f"{column} {raw!r} is not a date and time as ISO 8601 (2026-05-01T14:30)")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def _amount(raw: str, problems: list[str]) -> Decimal | None:
    text = raw.strip()
    if not text:
        problems.append("amount is empty")
        return None
    if not _AMOUNT.match(text):
        problems.append(f"amount {text!r} is not an amount such as 12.50")
        return None
    if "." in text and len(text.split(".")[1]) > 2:
        problems.append(f"amount {text} has more than 2 decimal places")
        return None
    amount = Decimal(text)
    if abs(amount) > MAX_AMOUNT:
        problems.append(f"amount {text} is larger than {MAX_AMOUNT}")
        return None
    return amount
