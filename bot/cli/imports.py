"""`retailbot import`: load members or receipts from the chain's CSV exports.

The file is read as UTF-8 (with or without a byte-order mark), every row is checked by
domain.imports.rules, members and stores are looked up in bulk, and the rows are written in chunks
of a few thousand, each chunk one transaction, so a large file neither holds one huge
transaction open nor pays a round trip per row. Receipts are booked by domain.loyalty, the one
place that turns receipts into points.

Refunds are booked after every sale of the file, so a refund may name a receipt anywhere in
the same file, whatever the chunking. With --strict the whole file is one transaction that is
rolled back when any row is bad; once a bad row is found the rest is only checked, not written,
so the report lists every bad row without doing work that is thrown away.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.common import CliError, SubParsers, add_common_options, run_with_app
from bot.cli.progress import Progress
from domain.imports.model import ImportContext, MemberRow, RowError, SeenInFile, TransactionRow
from domain.imports.rules import (
    COLUMNS,
    parse_member_row,
    parse_transaction_row,
    plan_members,
    read_header,
    resolve_receipts,
    row_values,
)
from domain.loyalty.services import book_receipts
from storage.uow import DatabaseRefused, SqlUnitOfWork

if TYPE_CHECKING:
    from bot.bootstrap import App
    from domain.loyalty.model import Receipt

CHUNK_ROWS = 2000  # rows per transaction: large enough for throughput, small enough to lock little
PROGRESS_FROM_ROWS = 5000  # smaller files finish before a meter would say anything useful
REPORT_AT_MOST = 1000  # rejected lines listed in the report; a file that bad needs fixing whole
READ_BLOCK = 1 << 20

Record = tuple[int, Mapping[str, str]] | RowError


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

    @property
    def failed(self) -> bool:
        """True when the file was refused (--strict with bad rows) or the import stopped."""
        return self.fatal is not None or (self.strict and bool(self.rejected))

    def reason(self) -> str:
        """One line saying why the import failed (empty when it did not)."""
        if self.fatal is not None:
            return f"{self.source}: {self.fatal}"
        if self.failed:
            first = min(self.rejected, key=lambda e: e.line)
            return (
                f"{self.source}: {len(self.rejected)} bad row(s), first {first}; "
                "--strict imported nothing"
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
        if self.rejected:
            lines.append("rejected rows:")
            ordered = sorted(self.rejected, key=lambda e: e.line)
            lines += [f"  {error}" for error in ordered[:REPORT_AT_MOST]]
            if len(ordered) > REPORT_AT_MOST:
                lines.append(f"  ... and {len(ordered) - REPORT_AT_MOST:,} more")
        return "\n".join(lines)


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
) -> ImportSummary:
    """Import members.csv or transactions.csv; on failure also say why on standard error."""
    if what not in COLUMNS:
        raise ValueError(f"cannot import {what!r}: choose members or transactions")
    summary = ImportSummary(what, path.name, strict)
    try:
        lines = _scan(path)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = read_header(what, next(reader, []))
            if isinstance(header, RowError):
                raise _FileProblem(str(header))
            await import_records(
                app,
                what,
                _records(reader, what, header),
                strict=strict,
                progress=progress,
                total=max(0, lines - 1),
                summary=summary,
                chunk_rows=chunk_rows,
            )
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
    progress: bool = False,
    total: int | None = None,
    source: str = "rows",
    summary: ImportSummary | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportSummary:
    """Import rows given as (line, {column: text}) pairs: the CSV reader and the demo seeder
    both come through here, so the demo data passes the same checks as a real file."""
    if what not in COLUMNS:
        raise ValueError(f"cannot import {what!r}: choose members or transactions")
    summary = summary or ImportSummary(what, source, strict)
    started = time.monotonic()
    now = app.clock.now()
    async with app.uow_factory() as uow:
        ctx = ImportContext.build(
            await uow.stores.list(),
            default_region=app.policy.default_region,
            timezone=app.policy.timezone,
            currency=app.policy.currency,
            now=now,
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
    async with AsyncExitStack() as stack:
        # --strict: one transaction for the whole file; otherwise one per chunk.
        shared = await stack.enter_async_context(app.uow_factory()) if strict else None
        stack.enter_context(meter)

        async def run(work: Callable[[SqlUnitOfWork], Awaitable[None]], lines: str) -> bool:
            try:
                if shared is not None:
                    await work(shared)
                else:
                    async with app.uow_factory() as uow:
                        await work(uow)
                        await uow.commit()
            except DatabaseRefused as exc:
                kept = "" if strict else "; rows before these were imported"
                detail = str(exc.orig or exc).strip().splitlines()[0][:200]
                summary.fatal = f"{lines}: the database refused the rows ({detail}){kept}"
                return False
            return True

        for chunk in _chunked(records, chunk_rows):
            summary.rows += len(chunk)
            write = not (strict and summary.rejected)
            waiting = batches.pending
            if not await run(partial(batches.book, chunk=chunk, write=write), _span(chunk)):
                break
            # Rows left for the end (refunds) count when they are booked, so the meter does
            # not sit at 100 % while they are.
            meter.advance(len(chunk) - (batches.pending - waiting))
        if summary.fatal is None:
            for deferred in batches.deferred(chunk_rows):
                write = not (strict and summary.rejected)
                work = partial(batches.book_deferred, items=deferred, write=write)
                if not await run(work, _span_of_lines([line for line, _ in deferred])):
                    break
                meter.advance(len(deferred))
        if shared is not None:
            if summary.failed:
                await shared.rollback()
                summary.rolled_back = True
                summary.inserted = summary.updated = summary.duplicates = 0
                summary.points_earned = summary.points_taken_back = 0
            else:
                await shared.commit()
    summary.rejected.sort(key=lambda error: error.line)
    summary.seconds = time.monotonic() - started
    return summary


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
        self, uow: SqlUnitOfWork, *, items: Sequence[tuple[int, Receipt]], write: bool
    ) -> None:
        raise NotImplementedError


class _MemberBatches(_Batches):
    async def book(self, uow: SqlUnitOfWork, *, chunk: Sequence[Record], write: bool) -> None:
        rows: list[MemberRow] = []
        for record in chunk:
            parsed = (
                record if isinstance(record, RowError)
                else parse_member_row(record[0], record[1], self.ctx)
            )
            if isinstance(parsed, RowError):
                self.summary.rejected.append(parsed)
            else:
                rows.append(parsed)
        existing = await uow.members.by_member_nos(row.member_no for row in rows)
        owners = await uow.members.by_phones(row.phone for row in rows if row.phone)
        plan = plan_members(rows, existing, owners, self.seen, self.ctx.now)
        self.summary.rejected.extend(plan.errors)
        if not write:
            return
        await uow.members.add_many(plan.new)
        for member in plan.changed:
            await uow.members.update(member)
        self.summary.inserted += len(plan.new)
        self.summary.updated += len(plan.changed)
        self.summary.duplicates += plan.unchanged


class _TransactionBatches(_Batches):
    def __init__(self, app: App, summary: ImportSummary, ctx: ImportContext) -> None:
        super().__init__(app, summary, ctx)
        self.refunds: list[tuple[int, Receipt]] = []

    async def book(self, uow: SqlUnitOfWork, *, chunk: Sequence[Record], write: bool) -> None:
        rows: list[TransactionRow] = []
        for record in chunk:
            parsed = (
                record if isinstance(record, RowError)
                else parse_transaction_row(record[0], record[1], self.ctx)
            )
            if isinstance(parsed, RowError):
                self.summary.rejected.append(parsed)
            else:
                rows.append(parsed)
        by_no = await uow.members.ids_by_member_no(r.member_no for r in rows if r.member_no)
        by_phone = await uow.members.ids_by_phone(r.phone for r in rows if r.phone)
        receipts, errors = resolve_receipts(rows, by_no, by_phone, self.seen)
        self.summary.rejected.extend(errors)
        sales = [(line, r) for line, r in receipts if not r.is_refund]
        self.refunds.extend((line, r) for line, r in receipts if r.is_refund)
        if write:
            await self._book(uow, sales)

    @property
    def pending(self) -> int:
        return len(self.refunds)

    def deferred(self, size: int) -> Iterator[list[tuple[int, Receipt]]]:
        for start in range(0, len(self.refunds), size):
            yield self.refunds[start : start + size]

    async def book_deferred(
        self, uow: SqlUnitOfWork, *, items: Sequence[tuple[int, Receipt]], write: bool
    ) -> None:
        if write:
            await self._book(uow, items)

    async def _book(self, uow: SqlUnitOfWork, items: Sequence[tuple[int, Receipt]]) -> None:
        if not items:
            return
        line_of = {receipt.receipt_no: line for line, receipt in items}
        result = await book_receipts(
            uow, self.app.policy, [receipt for _, receipt in items], self.ctx.now
        )
        self.summary.inserted += result.inserted
        self.summary.duplicates += result.duplicates
        self.summary.points_earned += result.points_earned
        self.summary.points_taken_back += result.points_taken_back
        self.summary.rejected.extend(
            RowError(line_of.get(r.receipt_no, 0), f"receipt {r.receipt_no}: {r.reason}")
            for r in result.rejected
        )


# --- reading the file ----------------------------------------------------------------------


def _scan(path: Path) -> int:
    """Count the lines and make sure the file is UTF-8 text before anything is written."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    ends_with_break = True
    with path.open("rb") as handle:
        for block in iter(partial(handle.read, READ_BLOCK), b""):
            nul = block.find(b"\x00")
            if nul >= 0:
                line = lines + block.count(b"\n", 0, nul) + 1
                raise _FileProblem(f"line {line}: the file holds NUL bytes; it is not a CSV text")
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise _not_utf8(lines + block.count(b"\n", 0, max(0, exc.start)) + 1) from exc
            lines += block.count(b"\n")
            ends_with_break = block.endswith(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _not_utf8(lines + 1) from exc
    return lines if ends_with_break else lines + 1


def _not_utf8(line: int) -> _FileProblem:
    return _FileProblem(
        f"line {line}: the file is not UTF-8 text (spreadsheets often save Chinese text as "
        "GBK: save it as \"CSV UTF-8\")"
    )


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
        if not any(value.strip() for value in fields):
            continue  # blank lines are common at the end of exports
        values = row_values(what, header, start, fields)
        yield values if isinstance(values, RowError) else (start, values)


def _chunked(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _span(chunk: Sequence[Record]) -> str:
    return _span_of_lines([r.line if isinstance(r, RowError) else r[0] for r in chunk])


def _span_of_lines(lines: Sequence[int]) -> str:
    if not lines:
        return "the file"
    low, high = min(lines), max(lines)
    return f"line {low}" if low == high else f"lines {low}-{high}"


def write_csv(stream: TextIO, what: str, rows: Iterable[Mapping[str, str]]) -> int:
    """Write rows in the import format (the bench and tests make files with it)."""
    writer = csv.writer(stream, lineterminator="\n")
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
            app, args.what, path, strict=args.strict, progress=not args.quiet
        )
        print(summary.report())
        return 1 if summary.failed else 0

    return run_with_app(args, work)


def add_import_commands(sub: SubParsers) -> None:
    """`import members|transactions FILE`, on the main parser."""
    p = sub.add_parser("import", help="import members or transactions from CSV")
    add_common_options(p)
    p.add_argument("what", choices=("members", "transactions"))
    p.add_argument("file", help="the CSV file (UTF-8, with or without BOM)")
    p.add_argument("--strict", action="store_true", help="reject the whole file on any bad row")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import)
