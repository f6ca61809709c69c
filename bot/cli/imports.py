"""`retailbot import`: load members or receipts from the chain's CSV exports.

The file's encoding (UTF-8 with or without a byte-order mark, UTF-16 as Excel's "Unicode text"
saves it, GB18030/GBK as Chinese tills export) and delimiter (comma, tab, semicolon, bar) are
detected and said, or given with --encoding and --delimiter. Every row is checked by
domain.imports.rules, members and stores are looked up in bulk, and the rows are written in
chunks of a few thousand, each chunk one short transaction, so a large file neither holds the
database's write lock for long (the bot keeps answering during any import) nor pays a round
trip per row. Receipts are booked by domain.loyalty, the one place that turns receipts into
points.

Refunds are booked after every sale of the file, so a refund may name a receipt anywhere in
the same file, whatever the chunking. With --strict the whole file is checked first (reading
only), refunds included, and written only when no row is bad. Exit codes: 0 every row was
imported (or was there already), 3 some rows were rejected and the others imported, 1 nothing
was imported (the file was refused, --strict found a bad row, or every row was rejected), 2 the
command line was wrong.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import gc
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.common import CliError, SubParsers, add_common_options, run_with_app
from bot.cli.progress import Progress
from bot.csvfiles import safe_writer
from domain.imports.model import ImportContext, MemberRow, RowError, SeenInFile
from domain.imports.rules import (
    COLUMNS,
    MEMBER_COLUMNS,
    TransactionChecker,
    ordered_values,
    parse_member_row,
    plan_members,
    read_header,
    resolve_receipts,
    row_values,
    transaction_values,
)
from domain.loyalty.services import RollingSpend, book_receipts, check_refunds
from domain.members.model import Member, Store
from domain.privacy.services import log_imported_consents
from domain.shared.text import safe_display
from storage.uow import BULK_CACHE_MB, DatabaseRefused, SqlUnitOfWork

if TYPE_CHECKING:
    from bot.bootstrap import App
    from domain.loyalty.model import Receipt

CHUNK_ROWS = 2000  # rows booked at a time (tiers are recounted after each chunk)
# Chunks committed together: at most this many, and none started after the transaction is this
# old (see _Transactions).
COMMIT_CHUNKS = 10
COMMIT_SECONDS = 2.0
# Exit codes of `retailbot import` (documented in the README); 2 is any command-line error.
EXIT_OK = 0
EXIT_NOTHING_IMPORTED = 1
EXIT_SOME_REJECTED = 3
DELIMITERS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "bars"}
DELIMITER_NAMES = {"comma": ",", "tab": "\t", "\\t": "\t", "semicolon": ";", "bar": "|",
                   "pipe": "|"}
PROGRESS_FROM_ROWS = 5000  # smaller files finish before a meter would say anything useful
REPORT_AT_MOST = 1000  # rejected lines listed in the report; a file that bad needs fixing whole
READ_BLOCK = 1 << 20
# Net new objects between two runs of Python's cycle collector while an import runs (700 by
# default); see fewer_collections.
IMPORT_GC_THRESHOLD = 50_000

# A row as {column: text} (a members file's, the demo's members) or, from a transactions file
# or the demo, as domain.imports.rules.ordered_values gives it; or why the line could not be read.
Record = tuple[int, Mapping[str, str] | tuple[str, ...]] | RowError


@dataclass(frozen=True)
class Writing:
    """How an import groups its chunks into transactions and how much page cache (SQLite) its
    connection takes, when not the defaults (COMMIT_CHUNKS, COMMIT_SECONDS, BULK_CACHE_MB),
    which keep a live bot's writers waiting two seconds at most and a nightly import's memory
    modest. The demo, whose database no bot shares while it is seeded, commits far less often
    and keeps its whole database in memory (see bot.demo.DEMO_WRITING)."""

    commit_chunks: int = COMMIT_CHUNKS
    commit_seconds: float = COMMIT_SECONDS
    cache_mb: int = BULK_CACHE_MB


@dataclass
class ImportSummary:
    """What an import did, for the operator: counts, every rejected line, or why it stopped."""

    what: str
    source: str
    strict: bool = False
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0  # members as before, receipts imported before
    rejected: list[RowError] = field(default_factory=list)
    fatal: str | None = None  # the file could not be imported at all, or stopped part-way
    rolled_back: bool = False
    points_earned: int = 0
    points_taken_back: int = 0
    seconds: float = 0.0
    detected: str = ""  # how the file was read: "UTF-8, separated by commas"
    # Receipts imported before that the file now gives differently: kept as stored, said.
    warnings: list[RowError] = field(default_factory=list)
    created_stores: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the file was refused (--strict with bad rows) or the import stopped."""
        return self.fatal is not None or (self.strict and bool(self.rejected))

    @property
    def imported_anything(self) -> bool:
        return bool(self.inserted or self.updated) and not self.rolled_back

    def exit_code(self) -> int:
        """0 all imported, 3 some rows rejected (the rest imported), 1 nothing imported."""
        if not self.failed and not self.rejected:
            return EXIT_OK
        if self.failed and not self.imported_anything:
            return EXIT_NOTHING_IMPORTED
        if not self.imported_anything and not self.duplicates:
            return EXIT_NOTHING_IMPORTED  # every row was rejected
        return EXIT_SOME_REJECTED

    def reason(self) -> str:
        """One line saying why the import failed (empty when it did not)."""
        if self.fatal is not None:
            return safe_display(f"{self.source}: {self.fatal}")
        if self.failed:
            first = min(self.rejected, key=lambda e: e.line)
            # A row refused only when booked (another process changed the database between
            # the check and the writing) cannot take back the chunks already written.
            done = "--strict imported nothing" if self.rolled_back else "the others were imported"
            return safe_display(
                f"{self.source}: {len(self.rejected)} bad row(s), first {first}; {done}"
            )
        return ""

    def report(self) -> str:
        """The multi-line account printed after an import."""
        if self.fatal is not None and self.rows == 0:
            return f"{self.source}: nothing imported; {self.fatal}"
        same = "members already there, unchanged" if self.what == "members" else (
            "receipts imported before"
        )
        lines = [f"{self.source}: {self.rows:,} rows read in {self.seconds:.1f} s"]
        if self.detected:
            lines.append(f"  read as {self.detected}")
        if self.created_stores:
            lines.append(
                f"  created stores {', '.join(self.created_stores)} (named by their code, in "
                "the chain's time zone; see `retailbot store list`)"
            )
        if self.rolled_back:
            lines.append("  --strict: the file has bad rows, so nothing was imported")
        lines += [
            f"  inserted            {self.inserted:>9,}",
            f"  updated             {self.updated:>9,}",
            f"  duplicates skipped  {self.duplicates:>9,}  ({same})",
            f"  rejected            {len(self.rejected):>9,}",
        ]
        if self.what == "transactions" and (self.points_earned or self.points_taken_back):
            lines.append(
                f"  points earned {self.points_earned:,}, taken back by refunds "
                f"{self.points_taken_back:,}"
            )
        if self.fatal is not None:
            lines.append(f"stopped: {self.fatal}")
        unknown = [e for e in self.rejected if e.unknown_store]
        if unknown:
            # Said once, with the way out, rather than once per row of a store not set up yet.
            codes = sorted({e.unknown_store for e in unknown})
            lines.append(
                f"{len(unknown):,} row(s) name store codes the chain does not have: "
                f"{', '.join(codes)} (first on line {min(e.line for e in unknown)}); add them "
                "with `retailbot store add CODE NAME --timezone TZ`, or import again with "
                "--create-stores"
            )
        listed = [e for e in self.rejected if not e.unknown_store]
        if listed:
            lines.append("rejected rows:")
            ordered = sorted(listed, key=lambda e: e.line)
            lines += [f"  {error}" for error in ordered[:REPORT_AT_MOST]]
            if len(ordered) > REPORT_AT_MOST:
                lines.append(f"  ... and {len(ordered) - REPORT_AT_MOST:,} more")
        if self.warnings:
            lines.append("warnings (imported before with other values; the stored ones are kept):")
            ordered = sorted(self.warnings, key=lambda e: e.line)
            lines += [f"  {warning}" for warning in ordered[:REPORT_AT_MOST]]
            if len(ordered) > REPORT_AT_MOST:
                lines.append(f"  ... and {len(ordered) - REPORT_AT_MOST:,} more")
        # Values from the file may hold escape codes: shown, never obeyed by the terminal.
        return "\n".join(safe_display(line) for line in lines)


class _FileProblem(Exception):
    """The file cannot be read on from here; the message names the line."""


async def import_file(
    app: App,
    what: str,
    path: Path,
    *,
    strict: bool,
    progress: bool,
    chunk_rows: int = CHUNK_ROWS,
    encoding: str | None = None,
    delimiter: str | None = None,
    create_stores: bool = False,
) -> ImportSummary:
    """Import members.csv or transactions.csv; on failure also say why on standard error.

    With `strict`, the whole file is checked first without writing (short read transactions),
    and written only when every row is good: the bot keeps answering while a file is checked.
    """
    if what not in COLUMNS:
        raise ValueError(f"cannot import {what!r}: choose members or transactions")
    summary = ImportSummary(what, path.name, strict)
    try:
        found = detect_format(path, what, encoding=encoding, delimiter=delimiter)
        summary.detected = found.described()
        if create_stores:
            summary.created_stores = await _create_stores(app, _store_codes(path, what, found))
        passes = (True, False) if strict else (False,)
        for validate_only in passes:
            current = ImportSummary(what, path.name, strict, detected=summary.detected,
                                    created_stores=summary.created_stores)
            with path.open(encoding=found.encoding, newline="") as handle:
                reader = csv.reader(handle, delimiter=found.delimiter)
                header = read_header(what, next(reader, []))
                if isinstance(header, RowError):
                    raise _FileProblem(str(header))
                await import_records(
                    app,
                    what,
                    _records(reader, what, header),
                    strict=strict,
                    validate_only=validate_only,
                    progress=progress,
                    total=max(0, found.lines - 1),
                    summary=current,
                    chunk_rows=chunk_rows,
                )
            summary = current
            if validate_only and (current.rejected or current.fatal is not None):
                break  # --strict: a bad row, nothing is written
    except _FileProblem as exc:
        summary.fatal = str(exc)
    except OSError as exc:
        summary.fatal = f"cannot read the file ({exc.strerror or exc})"
    if summary.failed:
        print(f"retailbot: {summary.reason()}", file=sys.stderr)
    return summary


async def import_records(
    app: App,
    what: str,
    records: Iterable[Record],
    *,
    strict: bool = False,
    validate_only: bool = False,
    progress: bool = False,
    total: int | None = None,
    source: str = "rows",
    summary: ImportSummary | None = None,
    chunk_rows: int = CHUNK_ROWS,
    writing: Writing | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Import rows given as (line, values) pairs: the CSV reader and the demo seeder both come
    through here, so the demo data passes the same checks as a real file. `writing` (the
    demo's) changes how often it commits and its page cache, never what is written; `now`
    (the demo's fixed midnight) is the time the import counts from (expiry, tiers' 12 months,
    receipts from the future), the clock's when not given.

    `validate_only` checks every row (refunds included) in short read transactions and writes
    nothing: the first pass of --strict. With `strict` alone a bad row stops further writes
    (rows cannot be taken back once their chunk committed; the first pass makes that rare)."""
    if what not in COLUMNS:
        raise ValueError(f"cannot import {what!r}: choose members or transactions")
    summary = summary or ImportSummary(what, source, strict)
    started = time.monotonic()
    if now is None:
        now = app.clock.now()
    async with app.uow_factory() as uow:
        ctx = ImportContext.build(
            await uow.stores.list(),
            default_region=app.policy.default_region,
            timezone=app.policy.timezone,
            currency=app.policy.currency,
            now=now,
            max_receipt_amount=app.policy.imports.max_receipt_amount,
            oldest_receipt_days=app.policy.imports.oldest_receipt_days,
        )
    batches: _Batches
    if what == "members":
        batches = _MemberBatches(app, summary, ctx)
    else:
        batches = _TransactionBatches(app, summary, ctx)
    meter = Progress(
        f"importing {summary.source}",
        total,
        enabled=progress and (total is None or total >= PROGRESS_FROM_ROWS),
    )
    with meter, fewer_collections():
        # Rolls back what is not committed when the import stops on an error.
        async with _Transactions(app, summary, validate_only, writing) as transactions:
            for chunk in _chunked(records, chunk_rows):
                summary.rows += len(chunk)
                write = not validate_only and not (strict and summary.rejected)
                waiting = batches.pending
                if not await transactions.run(partial(batches.book, chunk=chunk, write=write),
                                              _lines(chunk)):
                    break
                # Rows left for the end (refunds) count when they are booked, so the meter does
                # not sit at 100 % while they are.
                meter.advance(len(chunk) - (batches.pending - waiting))
            if summary.fatal is None:
                for deferred in batches.deferred(chunk_rows):
                    write = not validate_only and not (strict and summary.rejected)
                    work = partial(batches.book_deferred, items=deferred, write=write,
                                   check=validate_only)
                    if not await transactions.run(work, [line for line, _ in deferred]):
                        break
                    meter.advance(len(deferred))
            if summary.fatal is None:
                await transactions.end()
    if validate_only and summary.failed:
        summary.rolled_back = True  # the first pass of --strict: nothing was written
    if validate_only:
        summary.inserted = summary.updated = summary.duplicates = 0
        summary.points_earned = summary.points_taken_back = 0
        summary.warnings.clear()  # said by the writing pass, if there is one
    summary.rejected.sort(key=lambda error: error.line)
    summary.seconds = time.monotonic() - started
    return summary


class _Transactions:
    """The import's transactions. Chunks are booked one at a time, each in full (tiers are
    recounted after each, so the points a row earns do not depend on what follows), and
    committed together: up to COMMIT_CHUNKS of them, and no chunk started once the transaction
    is COMMIT_SECONDS old, so a writer of the live bot waits that long at most.

    A commit writes every page its transaction changed, and an import changes pages all over
    the indexes of receipts and points (each row its member's); committed every 2,000 rows, a
    300,000-row import wrote five times as much to disk as committed every 20,000, and took
    half as long again. The demo (its Writing) commits ten times fewer, bigger transactions
    from a page cache that holds its whole database: seeding 100,000 members with 1.9 million
    receipts wrote 5.2 GB to disk instead of 35.8 GB, and the receipts took 419 s, not 582 s.

    When the database refuses a write, the rows of the open transaction are not kept and the
    summary's counts go back to what was committed; earlier transactions stay."""

    def __init__(
        self, app: App, summary: ImportSummary, validate_only: bool, writing: Writing | None
    ) -> None:
        self.app = app
        self.summary = summary
        self.validate_only = validate_only
        self.writing = writing
        self._stack: AsyncExitStack | None = None
        self._uow: SqlUnitOfWork | None = None
        self._chunks = 0
        self._started = 0.0
        self._lines: list[int] = []
        self._counts = self._snapshot()

    async def __aenter__(self) -> _Transactions:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._close()

    async def run(
        self, work: Callable[[SqlUnitOfWork], Awaitable[None]], lines: Sequence[int]
    ) -> bool:
        """Book one chunk; False when the database refused it (the import stops)."""
        try:
            if self._uow is None:
                await self._begin()
            assert self._uow is not None
            if lines:
                self._lines += [min(lines), max(lines)]
            await work(self._uow)
        except DatabaseRefused as exc:
            await self._refused(exc)
            return False
        self._chunks += 1
        # The module's figures are read here, not copied at import, so a test can change them.
        chunks, seconds = (
            (COMMIT_CHUNKS, COMMIT_SECONDS) if self.writing is None
            else (self.writing.commit_chunks, self.writing.commit_seconds)
        )
        if self._chunks >= chunks or time.monotonic() - self._started >= seconds:
            return await self.end()
        return True

    async def end(self) -> bool:
        """Commit the open transaction (roll it back when only checking)."""
        if self._uow is None:
            return True
        try:
            if self.validate_only:
                await self._uow.rollback()  # nothing was written; said for the reader
            else:
                await self._uow.commit()
        except DatabaseRefused as exc:
            await self._refused(exc)
            return False
        self._counts = self._snapshot()
        await self._close()
        return True

    async def _begin(self) -> None:
        self._stack = AsyncExitStack()
        self._uow = await self._stack.enter_async_context(self.app.uow_factory())
        await self._uow.for_bulk_writes(None if self.writing is None else self.writing.cache_mb)
        self._chunks, self._started, self._lines = 0, time.monotonic(), []

    async def _close(self) -> None:
        stack, self._stack, self._uow = self._stack, None, None
        if stack is not None:
            await stack.aclose()  # rolls back what was not committed

    async def _refused(self, exc: DatabaseRefused) -> None:
        await self._close()
        summary = self.summary
        (summary.inserted, summary.updated, summary.duplicates, summary.points_earned,
         summary.points_taken_back, warnings) = self._counts
        del summary.warnings[warnings:]
        kept = "" if self.validate_only else "; rows before these were imported"
        detail = str(exc.orig or exc).strip().splitlines()[0][:200]
        summary.fatal = (
            f"{_span_of_lines(self._lines)}: the database refused the rows ({detail}){kept}"
        )

    def _snapshot(self) -> tuple[int, int, int, int, int, int]:
        s = self.summary
        return (s.inserted, s.updated, s.duplicates, s.points_earned, s.points_taken_back,
                len(s.warnings))


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run Python's cycle collector less often while an import runs (or the demo generates
    its rows). A chunk makes and drops tens of thousands of small objects that hold no cycles
    (values, times, amounts, rows), and by default every 700 of them set off a collection that
    frees nothing: a fifth of the import's time went there. Reference counting still frees them
    at once."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], IMPORT_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _Batches:
    """Writes checked chunks of one kind of file; `deferred` is work left for the end."""

    def __init__(self, app: App, summary: ImportSummary, ctx: ImportContext) -> None:
        self.app = app
        self.summary = summary
        self.ctx = ctx
        self.seen = SeenInFile()

    async def book(self, uow: SqlUnitOfWork, *, chunk: Sequence[Record], write: bool) -> None:
        raise NotImplementedError

    @property
    def pending(self) -> int:
        """Rows read but left for the end."""
        return 0

    def deferred(self, size: int) -> Iterator[list[tuple[int, Receipt]]]:
        return iter(())

    async def book_deferred(
        self,
        uow: SqlUnitOfWork,
        *,
        items: Sequence[tuple[int, Receipt]],
        write: bool,
        check: bool = False,
    ) -> None:
        raise NotImplementedError


class _MemberBatches(_Batches):
    async def book(self, uow: SqlUnitOfWork, *, chunk: Sequence[Record], write: bool) -> None:
        rows: list[MemberRow] = []
        for record in chunk:
            parsed = (
                record if isinstance(record, RowError)
                else parse_member_row(record[0], _mapping(record[1]), self.ctx)
            )
            if isinstance(parsed, RowError):
                self.summary.rejected.append(parsed)
            else:
                rows.append(parsed)
        existing = await uow.members.by_member_nos(row.member_no for row in rows)
        await _with_aliases(uow, existing, [row.member_no for row in rows])
        owners = await uow.members.by_phones(row.phone for row in rows if row.phone)
        plan = plan_members(rows, existing, owners, self.seen, self.ctx.now)
        self.summary.rejected.extend(plan.errors)
        if not write:
            return
        await uow.members.add_many(plan.new)
        for member in plan.changed:
            await uow.members.update(member)
        await _log_consents(uow, plan.new, plan.changed, existing, self.ctx.now)
        self.summary.inserted += len(plan.new)
        self.summary.updated += len(plan.changed)
        self.summary.duplicates += plan.unchanged


async def _log_consents(
    uow: SqlUnitOfWork,
    new: Sequence[Member],
    changed: Sequence[Member],
    existing: Mapping[str, Member],
    now: datetime,
) -> None:
    """Marketing consent the file gave or took back goes to the consent log (source
    "import"); the ids of new members are read back only for those who consented."""
    before = {m.id: m.marketing_consent for m in existing.values()}
    changes = [
        (m.id, m.marketing_consent)
        for m in changed
        if m.id is not None and before.get(m.id) != m.marketing_consent
    ]
    consenting = [m.member_no for m in new if m.marketing_consent]
    if consenting:
        ids = await uow.members.ids_by_member_no(consenting)
        changes.extend((member_id, True) for member_id in ids.values())
    if changes:
        await log_imported_consents(uow, changes, now)


async def _with_aliases(
    uow: SqlUnitOfWork, existing: dict[str, Member], numbers: Sequence[str]
) -> None:
    """Add to `existing` the members that merged-away numbers in the file now mean."""
    missing = [number for number in numbers if number not in existing]
    if not missing:
        return
    for number, member_id in (await uow.privacy.alias_targets(missing)).items():
        member = await uow.members.get(member_id)
        if member is not None:
            existing[number] = member


class _TransactionBatches(_Batches):
    def __init__(self, app: App, summary: ImportSummary, ctx: ImportContext) -> None:
        super().__init__(app, summary, ctx)
        self.refunds: list[tuple[int, Receipt]] = []
        # Sales of the file by receipt number, so checking refunds needs no writing first.
        self.sales: dict[str, Receipt] = {}
        self.refunded: dict[str, Decimal] = {}
        self.checker = TransactionChecker(ctx)
        self.spend = RollingSpend(ctx.now)

    async def book(self, uow: SqlUnitOfWork, *, chunk: Sequence[Record], write: bool) -> None:
        # The whole chunk is checked at once, then looked up and booked in bulk.
        given: list[tuple[int, tuple[str, ...]]] = []
        for record in chunk:
            if isinstance(record, RowError):
                self.summary.rejected.append(record)
                continue
            line, values = record
            given.append(
                (line, values if isinstance(values, tuple) else transaction_values(values))
            )
        rows, problems = self.checker.check(given)
        self.summary.rejected.extend(problems)
        numbers = {r.member_no for r in rows if r.member_no}
        by_no = await uow.members.ids_by_member_no(numbers)
        # A number merged into another member (retailbot member merge) still books there.
        missing = numbers - by_no.keys()
        if missing:
            by_no.update(await uow.privacy.alias_targets(sorted(missing)))
        by_phone = await uow.members.ids_by_phone({r.phone for r in rows if r.phone})
        receipts, errors = resolve_receipts(rows, by_no, by_phone, self.seen)
        self.summary.rejected.extend(errors)
        sales = [(line, r) for line, r in receipts if r.amount >= 0]
        self.refunds.extend((line, r) for line, r in receipts if r.amount < 0)
        if write:
            await self._book(uow, sales)
        else:  # checking only (--strict's first pass): refunds are checked against these
            self.sales.update((r.receipt_no, r) for _, r in sales)

    @property
    def pending(self) -> int:
        return len(self.refunds)

    def deferred(self, size: int) -> Iterator[list[tuple[int, Receipt]]]:
        for start in range(0, len(self.refunds), size):
            yield self.refunds[start : start + size]

    async def book_deferred(
        self,
        uow: SqlUnitOfWork,
        *,
        items: Sequence[tuple[int, Receipt]],
        write: bool,
        check: bool = False,
    ) -> None:
        if check:
            await self._check_refunds(uow, items)
        if write:
            await self._book(uow, items)

    async def _check_refunds(
        self, uow: SqlUnitOfWork, items: Sequence[tuple[int, Receipt]]
    ) -> None:
        """What booking would refuse, found without writing (the first pass of --strict): the
        same bulk look-ups and the same rule as booking, the file's sales standing in for the
        receipts not written yet."""
        stored_refunds = await uow.receipts.existing(r.receipt_no for _, r in items)
        # Imported before: a duplicate, skipped when booking.
        fresh = [(line, r) for line, r in items if r.receipt_no not in stored_refunds]
        line_of = {refund.receipt_no: line for line, refund in fresh}
        rejected = await check_refunds(uow, [r for _, r in fresh], self.sales, self.refunded)
        self.summary.rejected.extend(
            RowError(line_of[r.receipt_no], f"receipt {r.receipt_no}: {r.reason}")
            for r in rejected
        )

    async def _book(self, uow: SqlUnitOfWork, items: Sequence[tuple[int, Receipt]]) -> None:
        if not items:
            return
        stored = await self._warn_if_different(uow, items)
        line_of = {receipt.receipt_no: line for line, receipt in items}
        result = await book_receipts(
            uow, self.app.policy, [receipt for _, receipt in items], self.ctx.now,
            stored=stored, spend=self.spend,
        )
        self.summary.inserted += result.inserted
        self.summary.duplicates += result.duplicates
        self.summary.points_earned += result.points_earned
        self.summary.points_taken_back += result.points_taken_back
        self.summary.rejected.extend(
            RowError(line_of.get(r.receipt_no, 0), f"receipt {r.receipt_no}: {r.reason}")
            for r in result.rejected
        )


    async def _warn_if_different(
        self, uow: SqlUnitOfWork, items: Sequence[tuple[int, Receipt]]
    ) -> set[str]:
        """A receipt imported before that the file now gives differently is kept as stored
        (its points were earned on it), but the operator hears which and how it differs.
        Returns the numbers of the receipts imported before (booking skips them)."""
        stored = await uow.receipts.get_many(r.receipt_no for _, r in items)
        if not stored:
            return set()
        for line, receipt in items:
            before = stored.get(receipt.receipt_no)
            if before is None:
                continue
            differs = [
                name
                for name, old, new in (
                    ("amount", before.amount, receipt.amount),
                    ("member", before.member_id, receipt.member_id),
                    ("store", before.store_id, receipt.store_id),
                    ("time", before.occurred_at, receipt.occurred_at),
                )
                if old != new
            ]
            if differs:
                self.summary.warnings.append(RowError(
                    line,
                    f"receipt {receipt.receipt_no} was imported before with another "
                    f"{', '.join(differs)}"
                    + (f" ({before.amount} then, {receipt.amount} now)"
                       if "amount" in differs else ""),
                ))
        return set(stored)


# --- reading the file ----------------------------------------------------------------------


@dataclass(frozen=True)
class FileFormat:
    """How a file is read: its text encoding, its delimiter and how many lines it has."""

    encoding: str
    delimiter: str
    lines: int
    guessed: bool = True

    def described(self) -> str:
        """"GB18030 text, separated by tabs", for the report."""
        names = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "gb18030": "GB18030 (GBK)"}
        text = names.get(self.encoding, self.encoding.upper())
        return f"{text} text, separated by {DELIMITERS.get(self.delimiter, repr(self.delimiter))}"


def detect_format(
    path: Path, what: str, *, encoding: str | None = None, delimiter: str | None = None
) -> FileFormat:
    """The file's encoding and delimiter, as given or detected, checked on the whole file
    before anything is written; a _FileProblem naming the line otherwise.

    Encodings are tried in the order a chain's files come: a byte-order mark says UTF-8 or
    UTF-16 (Excel's "Unicode text"); without one, UTF-16 shows as every other byte being NUL;
    then UTF-8, then GB18030 (a superset of GBK and GB2312, what Chinese tills export).
    """
    with path.open("rb") as handle:
        sample = handle.read(READ_BLOCK)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _FileProblem(
                f"--encoding {encoding!r} is not an encoding Python knows "
                "(try utf-8, utf-16, gb18030)"
            ) from None
        candidates = [encoding]
    elif sample.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif _looks_utf16(sample):
        candidates = ["utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    problem: _FileProblem | None = None
    for candidate in candidates:
        try:
            lines, first_line = _scan(path, candidate)
        except _FileProblem as exc:
            problem = problem or exc
            continue
        return FileFormat(candidate, _delimiter(first_line, what, delimiter), lines,
                          guessed=encoding is None)
    assert problem is not None
    if len(candidates) > 1:
        line = str(problem).split(":")[0]
        raise _FileProblem(
            f"{line}: the file is neither UTF-8 nor GB18030 (GBK) text; save it as "
            "\"CSV UTF-8\", or name its encoding with --encoding"
        )
    raise problem


def _looks_utf16(sample: bytes) -> bool:
    # ASCII text in UTF-16 has a NUL in every other byte; no other text file looks like that.
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return max(even.count(0), odd.count(0)) > 0.4 * len(sample) / 2


def _scan(path: Path, encoding: str) -> tuple[int, str]:
    """Count the lines and make sure the whole file decodes; (lines, first line)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    first_line = ""
    ends_with_break = True
    with path.open("rb") as handle:
        for block in iter(partial(handle.read, READ_BLOCK), b""):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                text = block[: exc.start].decode(encoding, errors="replace")
                raise _not_decodable(lines + text.count("\n") + 1, encoding) from exc
            nul = text.find("\x00")
            if nul >= 0:
                line = lines + text.count("\n", 0, nul) + 1
                raise _FileProblem(f"line {line}: the file holds NUL bytes; it is not a CSV text")
            if lines == 0 and not first_line:
                first_line = text.split("\n", 1)[0]
            lines += text.count("\n")
            if text:
                ends_with_break = text.endswith("\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _not_decodable(lines + 1, encoding) from exc
    return (lines if ends_with_break else lines + 1), first_line.lstrip("\ufeff")


def _not_decodable(line: int, encoding: str) -> _FileProblem:
    return _FileProblem(f"line {line}: the file is not {encoding.upper()} text")


def _delimiter(first_line: str, what: str, given: str | None) -> str:
    """The delimiter given (",", "tab", ";"...) or the one that splits the header into the
    most known column names (a comma when none does)."""
    if given is not None:
        chosen = DELIMITER_NAMES.get(given.lower(), given)
        if len(chosen) != 1:
            raise _FileProblem(
                f"--delimiter {given!r} must be one character, or comma, tab, semicolon or bar"
            )
        return chosen
    known = set(COLUMNS[what])

    def score(candidate: str) -> int:
        names = {name.strip().strip('"').lower() for name in first_line.split(candidate)}
        return len(names & known)

    best = max(DELIMITERS, key=score)
    return best if score(best) > 0 else ","


def _store_codes(path: Path, what: str, found: FileFormat) -> set[str]:
    """The store codes the file names (for --create-stores), read before anything else."""
    codes: set[str] = set()
    with path.open(encoding=found.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=found.delimiter)
        header = read_header(what, next(reader, []))
        if isinstance(header, RowError) or "store_code" not in header:
            return codes
        column = header.index("store_code")
        for fields in reader:
            if len(fields) > column and fields[column].strip():
                codes.add(fields[column].strip().upper())
    return codes


async def _create_stores(app: App, codes: set[str]) -> list[str]:
    """Stores for the codes the chain does not have yet, named by their code, in the chain's
    time zone (rename them later); each code must look like one (letters, digits, - and _)."""
    async with app.uow_factory() as uow:
        have = {store.code.upper() for store in await uow.stores.list()}
        new = sorted(code for code in codes - have if _STORE_CODE.fullmatch(code))
        for code in new:
            await uow.stores.add(Store(code, code, app.policy.timezone))
        await uow.commit()
    return new


def _records(reader: Iterator[list[str]], what: str, header: Sequence[str]) -> Iterator[Record]:
    """(line, values) for each non-blank row, or the RowError of a row of the wrong shape."""
    line_num = getattr(reader, "line_num", 1)
    previous_end = line_num
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as exc:
            raise _FileProblem(f"line {previous_end + 1}: the CSV cannot be read ({exc})") from exc
        if fields is None:
            return
        start = previous_end + 1
        previous_end = getattr(reader, "line_num", start)
        if not "".join(fields).strip():
            continue  # blank lines are common at the end of exports
        values = (
            ordered_values(what, header, start, fields) if what == "transactions"
            else row_values(what, header, start, fields)
        )
        yield values if isinstance(values, RowError) else (start, values)


def _mapping(values: Mapping[str, str] | tuple[str, ...]) -> Mapping[str, str]:
    return dict(zip(MEMBER_COLUMNS, values, strict=True)) if isinstance(values, tuple) else values


def _chunked(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _lines(chunk: Sequence[Record]) -> list[int]:
    return [r.line if isinstance(r, RowError) else r[0] for r in chunk]


def _span_of_lines(lines: Sequence[int]) -> str:
    if not lines:
        return "the file"
    low, high = min(lines), max(lines)
    return f"line {low}" if low == high else f"lines {low}-{high}"


_STORE_CODE = re.compile(r"[A-Z0-9_-]{1,32}")


def write_csv(stream: TextIO, what: str, rows: Iterable[Mapping[str, str]]) -> int:
    """Write rows in the import format (the bench and tests make files with it)."""
    writer = safe_writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS[what])
    count = 0
    for row in rows:
        writer.writerow([row.get(column, "") for column in COLUMNS[what]])
        count += 1
    return count


# -- the command --------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    """Import members or transactions from a CSV file; bad rows are reported by line."""
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path} does not exist or is not a file")

    async def work(app: App) -> int:
        summary = await import_file(
            app, args.what, path, strict=args.strict, progress=not args.quiet,
            encoding=args.encoding, delimiter=args.delimiter, create_stores=args.create_stores,
        )
        print(summary.report())
        # A nightly cron must notice rejected rows: 3 some rejected, 1 nothing imported.
        return summary.exit_code()

    return run_with_app(args, work)


def add_import_commands(sub: SubParsers) -> None:
    """`import members|transactions FILE`, on the main parser."""
    p = sub.add_parser("import", help="import members or transactions from CSV")
    add_common_options(p)
    p.add_argument("what", choices=("members", "transactions"))
    p.add_argument("file", help="the CSV file (UTF-8, UTF-16 or GB18030/GBK; detected)")
    p.add_argument("--strict", action="store_true",
                   help="check the whole file first; import nothing if any row is bad")
    p.add_argument("--encoding", help="the file's encoding (default: detected), e.g. gb18030")
    p.add_argument("--delimiter",
                   help="comma, tab, semicolon, bar or one character (default: detected)")
    p.add_argument("--create-stores", action="store_true",
                   help="add the store codes the file names that the chain does not have")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.epilog = ("exit status: 0 all rows imported, 3 some rows rejected (the rest imported), "
                "1 nothing imported, 2 bad command line")
    p.set_defaults(func=cmd_import)
