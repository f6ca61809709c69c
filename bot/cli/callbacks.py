"""`retailbot callbacks export|record` and `retailbot report callbacks`: the call queue for a
store without Telegram on the shop floor, and the callbacks report.

`export` writes today's call list of one store as CSV (cells that a spreadsheet would run as a
formula are written as text); the store fills in `outcome` (and `note`, `call_again_at`,
`staff`) and `record` reads it back line by line: a bad line is rejected with its line number
and the good ones are kept, and the command exits non-zero when any line was rejected.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.cli.common import (
    CliError,
    SubParsers,
    add_common_options,
    add_report_options,
    report_period,
    run_and_print,
    run_with_app,
)
from bot.csvfiles import safe_writer
from domain.callbacks.digest import percent
from domain.callbacks.model import STAFF_OUTCOMES, CallbackRefused, Outcome
from domain.callbacks.rules import call_list_cell
from domain.callbacks.services import record_call
from domain.callbacks.views import CallbackReport, callback_report
from domain.privacy.model import Purpose
from domain.shared.clock import local_day
from domain.shared.text import csv_cell_read, parse_id
from domain.staff.model import Role, StaffMember
from domain.tickets.model import AuditEntry

if TYPE_CHECKING:
    from bot.bootstrap import App

COLUMNS = ("callback", "due", "rule", "context", "member_no", "name", "phone", "script",
           "outcome", "note", "call_again_at", "staff")
OUTCOMES = {o.value: o for o in STAFF_OUTCOMES}
CLI_ACTOR = "cli"


# -- export -------------------------------------------------------------------------------------


async def export_calls(app: App, store_code: str, path: Path) -> int:
    """Write the store's calls due by the end of its local today; how many were written."""
    async with app.uow_factory() as uow:
        store = await uow.stores.get_by_code(store_code)
        if store is None:
            raise CliError(f"there is no store {store_code!r}")
        now = app.clock.now()
        zone = ZoneInfo(store.timezone)
        end_of_day = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0),
                                      tzinfo=zone)
        calls = await uow.callbacks.call_list(store.id, end_of_day)
        allowed = await uow.consents.allowed({c.member_id for c in calls}, Purpose.CALLS)
        # The members to call, read at once (a store's list can be long).
        people = await uow.callbacks.call_members(
            {c.member_id for c in calls if c.member_id in allowed}
        )
        rows = []
        for call in calls:
            if call.member_id not in allowed:
                continue  # withdrew their consent to calls after the call was queued
            member = people.get(call.member_id)
            if member is None:
                continue
            spec = app.policy.callbacks.rule(call.rule)
            rows.append([
                call.number, call.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                call.rule.value, call.context, member.member_no, member.name, member.phone or "",
                spec.script("en").replace("{chain}", app.policy.chain_name)
                .replace("{context}", call.context), "", "", "", "",
            ])
            # The call list carries the phone in full: who exported it is on the record.
            await uow.audit.add(AuditEntry(actor=CLI_ACTOR, action="member.phone_view", at=now,
                                           member_id=member.id,
                                           detail=f"call list export {store.code}"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = safe_writer(out)  # formula-like cells neutralised (bot.csvfiles)
            writer.writerow(COLUMNS)
            writer.writerows([[call_list_cell(cell) for cell in row] for row in rows])
        await uow.commit()
    return len(rows)


# -- record -------------------------------------------------------------------------------------


class LineRejected(Exception):
    """One line of the file cannot be recorded; the message says why."""


def _callback_id(text: str) -> int:
    raw = text.strip().upper().removeprefix("C-").removeprefix("C")
    callback_id = parse_id(raw)
    if callback_id is None:
        raise LineRejected(f"callback must be a number such as C-12, not {text!r}")
    return callback_id


def _when(text: str, tz: str) -> datetime:
    try:
        local = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise LineRejected(
            f"call_again_at must be a local time such as 2026-06-16 15:00, not {text!r}"
        ) from exc
    return local.replace(tzinfo=ZoneInfo(tz))


async def _staff(app: App, text: str) -> StaffMember:
    who = text.strip()
    if not who:
        return StaffMember(CLI_ACTOR, Role.ADMIN, "call list")
    async with app.uow_factory() as uow:
        account = await uow.staff.get_by_telegram_id(who)
    if account is None or not account.active:
        raise LineRejected(f"staff must be the Telegram id of an active staff member, not "
                           f"{who!r}")
    return account


async def record_calls(app: App, path: Path) -> tuple[int, int, list[str]]:
    """Record every filled-in line: (recorded, skipped as not called, rejections)."""
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    missing = {"callback", "outcome"} - set(reader.fieldnames or ())
    if missing:
        raise CliError(f"{path}: line 1 must name the columns; {', '.join(sorted(missing))} "
                       "missing")
    recorded = skipped = 0
    rejected: list[str] = []
    for row in reader:
        line = reader.line_num
        outcome_text = csv_cell_read(row.get("outcome") or "").lower()
        if not outcome_text:
            skipped += 1
            continue
        try:
            outcome = OUTCOMES.get(outcome_text)
            if outcome is None:
                raise LineRejected(f"outcome must be one of {', '.join(OUTCOMES)}, not "
                                   f"{outcome_text[:40]!r}")
            callback_id = _callback_id(csv_cell_read(row.get("callback") or ""))
            when = None
            if outcome is Outcome.CALL_AGAIN:
                when = _when(csv_cell_read(row.get("call_again_at") or ""), app.policy.timezone)
            staff = await _staff(app, csv_cell_read(row.get("staff") or ""))
            note = csv_cell_read(row.get("note") or "")
            async with app.uow_factory() as uow:
                await record_call(uow, app.policy, callback_id, staff, outcome,
                                  app.clock.now(), call_again_at=when, note=note,
                                  actor=None if staff.id is not None else CLI_ACTOR)
                await uow.commit()
            recorded += 1
        except LineRejected as exc:
            rejected.append(f"line {line}: {exc}")
        except CallbackRefused as exc:
            rejected.append(f"line {line}: {exc}")
    return recorded, skipped, rejected


# -- report -------------------------------------------------------------------------------------


def format_report(report: CallbackReport) -> str:
    where = f", store {report.store_code}" if report.store_code else ""
    out = [
        f"Callbacks due {report.day_from} to {report.day_to}{where} (days in {report.timezone})",
        "",
        f"due {report.due}  done {report.done}  on time {report.done_on_time}  "
        f"overdue {report.overdue}  still open {report.open}",
        f"reach rate {percent(report.reach_rate)} ({report.reached} of {report.closed} closed)"
        f"  problems found (tickets opened) {report.problems}",
        "",
        "Outcomes by rule:",
    ]
    for rule, counts in sorted(report.by_rule.items()):
        out.append(f"  {rule:<12} " + ", ".join(f"{o} {n}" for o, n in sorted(counts.items())))
    if not report.by_rule:
        out.append("  (none)")
    out += ["", "Reasons given (gone quiet):"]
    out += [f"  {reason:<12} {n}" for reason, n in report.by_reason.most_common()] or ["  (none)"]
    out += ["", "By staff member:"]
    for who, counts in sorted(report.by_staff.items()):
        reached = sum(n for o, n in counts.items() if o in ("all_good", "problem", "reason",
                                                           "do_not_call"))
        total = sum(counts.values())
        out.append(f"  {who:<20} {total} closed, {reached} reached")
    if not report.by_staff:
        out.append("  (none)")
    out += [
        "",
        f"Bought again within {report.repurchase_days} days after the callback "
        "(OBSERVATIONAL comparison, not an experiment: members who answer differ from those",
        "who do not, so the difference is not the effect of the call):",
    ]
    for rule, r in sorted(report.repurchase.items()):
        out.append(
            f"  {rule:<12} reached {percent(r.share(r.reached_bought, r.reached))} "
            f"({r.reached_bought}/{r.reached})   not reached "
            f"{percent(r.share(r.not_reached_bought, r.not_reached))} "
            f"({r.not_reached_bought}/{r.not_reached})"
        )
    if not report.repurchase:
        out.append(f"  (no callbacks closed at least {report.repurchase_days} days ago)")
    return "\n".join(out)


async def report(app: App, args: argparse.Namespace) -> str:
    """The last 30 days up to today (or --to) unless --from says otherwise."""
    now = app.clock.now()
    today = local_day(now, app.policy.timezone)
    day_from, day_to = report_period(args, today, lambda last: last - timedelta(days=29))
    async with app.uow_factory() as uow:
        try:
            result = await callback_report(uow, app.policy, day_from, day_to, args.store, now)
        except LookupError as exc:
            raise CliError(str(exc)) from exc
    text = format_report(result)
    if args.png:
        from bot.charts import write_callback_chart

        path = await asyncio.to_thread(
            write_callback_chart, {r: dict(c) for r, c in result.by_rule.items()},
            f"Callbacks {day_from} to {day_to}: outcomes by rule", Path(args.png),
        )
        text += f"\n\nChart:\n  {path}"
    return text


# -- the commands -------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    """Today's call list of one store as CSV."""

    async def work(app: App) -> int:
        count = await export_calls(app, args.store, Path(args.file))
        print(f"{count} call(s) written to {args.file}")
        return 0

    return run_with_app(args, work)


def cmd_record(args: argparse.Namespace) -> int:
    """The outcomes of a filled-in call list, line by line."""

    async def work(app: App) -> int:
        recorded, skipped, rejected = await record_calls(app, Path(args.file))
        for reason in rejected:
            print(f"retailbot: {args.file} {reason}", file=sys.stderr)
        print(f"{recorded} outcome(s) recorded, {skipped} line(s) without an outcome left "
              f"open, {len(rejected)} rejected")
        if not rejected:
            return 0
        return 3 if recorded else 1  # the import's codes: some rejected / nothing recorded

    return run_with_app(args, work)


def cmd_report(args: argparse.Namespace) -> int:
    """Due, done, reach rate, outcomes by rule and reason, by staff, repurchase comparison."""
    return run_and_print(args, report)


def add_callback_commands(sub: SubParsers) -> None:
    """`callbacks export|record` on the main parser, and `callbacks` under `report` (which the
    surveys' commands add first)."""
    p = sub.add_parser("callbacks", help="callbacks: a store's call list as CSV and back")
    actions = p.add_subparsers(dest="callbacks_command", metavar="ACTION", required=True)
    q = actions.add_parser("export", help="today's call list of one store as CSV")
    add_common_options(q)
    q.add_argument("--store", required=True, metavar="CODE", help="the store's code")
    q.add_argument("file", metavar="FILE", help="the CSV file to write")
    q.set_defaults(func=cmd_export)
    q = actions.add_parser("record", help="record the outcomes of a filled-in call list")
    add_common_options(q)
    q.add_argument("file", metavar="FILE", help="the CSV file export wrote, filled in")
    q.set_defaults(func=cmd_record)

    reports = next(
        action for action in sub.choices["report"]._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    q = reports.add_parser(
        "callbacks", help="callbacks: due, done, reach rate, outcomes, repurchase comparison"
    )
    add_report_options(q, png_help="also write the outcomes chart as PNG here")
    q.set_defaults(func=cmd_report)
