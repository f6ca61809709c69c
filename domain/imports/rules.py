"""Checking the chain's CSV exports row by row: each row becomes a parsed row or a RowError.

Everything here is plain data in, plain data out, so every rule of the import can be tested
without a database. bot/importer.py reads the file, looks things up in bulk and books the
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
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.imports.model import (
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

_UNKNOWN_STORE = re.compile(r"store_code '(.*)' is not a store of the chain")
_AMOUNT = re.compile(r"^[+-]?\d+(\.\d+)?$")
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


# --- members -------------------------------------------------------------------------------


def parse_member_row(
    line: int, values: Mapping[str, str], ctx: ImportContext
) -> MemberRow | RowError:
    """Check one members.csv line; every problem of the line is named in one reason."""
    problems: list[str] = []
    member_no = values.get("member_no", "").strip()
    if not member_no:
        problems.append("member_no is empty")
    elif len(member_no) > MAX_MEMBER_NO or not member_no.isprintable():
        problems.append(f"member_no {member_no[:40]!r} is not a usable member number")

    name = " ".join(values.get("name", "").split())
    if not name:
        problems.append("name is empty")
    elif len(name) > MAX_NAME or not name.isprintable():
        problems.append(f"name is longer than {MAX_NAME} characters or holds control characters")

    phone = _phone(values.get("phone", ""), ctx, problems)
    store = _store(values.get("store_code", ""), ctx, problems, required=False)
    zone = store.timezone if store else ctx.timezone
    local_today = ctx.now.astimezone(ZoneInfo(zone)).date()
    birthday = _birthday(values.get("birthday", ""), local_today, problems)

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
    receipt_no = values.get("receipt_no", "").strip()
    if not receipt_no:
        problems.append("receipt_no is empty")
    elif len(receipt_no) > MAX_RECEIPT_NO or not receipt_no.isprintable():
        problems.append(f"receipt_no {receipt_no[:40]!r} is not a usable receipt number")

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


def resolve_receipts(
    rows: Sequence[TransactionRow],
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
    for row in rows:
        earlier = seen.claim("receipt", row.receipt_no, row.line)
        if earlier is not None:
            errors.append(
                RowError(row.line, f"receipt {row.receipt_no} is already on line {earlier}")
            )
            continue
        member_id, problem = _whose(row, ids_by_member_no, ids_by_phone)
        if member_id is None:
            errors.append(RowError(row.line, problem))
            continue
        assert row.store.id is not None
        receipts.append(
            (
                row.line,
                Receipt(
                    receipt_no=row.receipt_no,
                    store_id=row.store.id,
                    member_id=member_id,
                    occurred_at=row.occurred_at,
                    amount=row.amount,
                    currency=row.currency,
                    original_receipt_no=row.original_receipt_no,
                ),
            )
        )
    return receipts, errors


def _whose(
    row: TransactionRow, by_no: Mapping[str, int], by_phone: Mapping[str, int]
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


def refund_problem(refund: Receipt, original: Receipt | None, refunded: Decimal) -> str | None:
    """Why booking would refuse this refund, or None; `refunded` is what refunds booked or
    checked before took back from the original (zero or negative). The same conditions as
    domain.loyalty's booking, so --strict can find them before anything is written."""
    number = refund.original_receipt_no
    if original is None:
        return f"original receipt {number} is unknown"
    if original.member_id != refund.member_id:
        return f"original receipt {number} belongs to another member"
    if original.is_refund:
        return f"receipt {number} is itself a refund"
    if -(refunded + refund.amount) > original.amount:
        return (
            f"refund of {-refund.amount} exceeds what is left of receipt {number} "
            f"({original.amount + refunded})"
        )
    return None


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
    if day is None:
        problems.append(
            f"birthday {safe_display(text)!r} is not a date as YYYY-MM-DD (or 1990/05/31)"
        )
        return None
    if day > today or day.year < today.year - OLDEST_AGE_YEARS:
        problems.append(f"birthday {text} is not a plausible birthday")
        return None
    return day


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
