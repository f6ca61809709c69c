"""`retailbot surveys invite` and `retailbot report surveys`: surveys from the command line."""

from __future__ import annotations

import argparse
import asyncio
import csv
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import (
    CliError,
    SubParsers,
    add_common_options,
    add_report_options,
    report_period,
    run_and_print,
    run_with_app,
)
from bot.cli.progress import Progress
from domain.shared.clock import local_day
from domain.surveys.model import Scores
from domain.surveys.services import SurveyReport, figure, months_between, survey_report

if TYPE_CHECKING:
    from bot.bootstrap import App

DEFAULT_MONTHS = 6
INVITE_BATCH = 500  # members per transaction
MAX_MEMBERS_FILE = 5_000_000  # lines: a typo'd path to a huge file stops with a reason


# -- surveys invite -----------------------------------------------------------------------------


def read_member_numbers(path: Path) -> list[str]:
    """Member numbers from a file: one per line, or the first column of a CSV (a header whose
    first cell is not a member number, such as `member_no`, is skipped)."""
    if not path.is_file():
        raise CliError(f"{path} does not exist or is not a file")
    numbers: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for i, row in enumerate(csv.reader(handle)):
            if i >= MAX_MEMBERS_FILE:
                raise CliError(f"{path} has more than {MAX_MEMBERS_FILE:,} lines")
            cell = row[0].strip() if row else ""
            if not cell or cell.startswith("#"):
                continue
            if i == 0 and cell.lower().replace(" ", "_") in ("member_no", "member", "number"):
                continue
            numbers.append(cell)
    return numbers


async def invite(app: App, args: argparse.Namespace) -> str:
    """Invite a tier, a store's members or a file's members to a survey; returns the summary.

    Members are invited INVITE_BATCH at a time, each batch in its own short transaction, so a
    tier of 100,000 members neither holds one huge transaction nor stops everything on a
    failure late in the list: a rerun with the same label invites only who is left.
    """
    from domain.surveys.model import InvitationRun
    from domain.surveys.services import invite_segment

    policy = app.policy
    if policy.surveys.survey(args.survey) is None:
        known = ", ".join(s.key for s in policy.surveys.surveys)
        raise CliError(f"there is no survey {args.survey!r}; the surveys are: {known}")
    now = app.clock.now()
    label = args.label or f"{args.survey}-{local_day(now, policy.timezone):%Y%m%d}"
    if len(label) > 64 or ":" in label:
        raise CliError(f"--label is at most 64 characters without ':', not {label!r}")
    unknown: list[str] = []
    async with app.uow_factory() as uow:
        if args.tier:
            if args.tier not in {t.key for t in policy.tiers}:
                tiers = ", ".join(t.key for t in policy.tiers)
                raise CliError(f"there is no tier {args.tier!r}; the tiers are: {tiers}")
            ids = await uow.surveys.member_ids(tier=args.tier)
            who = f"tier {args.tier}"
        elif args.store:
            store = await uow.stores.get_by_code(args.store.upper())
            if store is None:
                raise CliError(f"there is no store with the code {args.store.upper()}")
            ids = await uow.surveys.member_ids(store_id=store.id)
            who = f"members of store {store.code}"
        else:
            numbers = read_member_numbers(Path(args.members))
            found = await uow.members.ids_by_member_no(numbers)
            unknown = sorted(set(numbers) - found.keys())
            ids = sorted(found.values())
            who = f"{len(found)} members from {args.members}"
    run = InvitationRun()
    visible = not args.quiet and len(ids) > INVITE_BATCH
    with Progress("inviting", len(ids), enabled=visible) as meter:
        for start in range(0, len(ids), INVITE_BATCH):
            chunk = ids[start : start + INVITE_BATCH]
            async with app.uow_factory() as uow:
                run.add(await invite_segment(uow, policy, chunk, args.survey, now, label=label))
                if not args.dry_run:
                    await uow.commit()  # a dry run leaves the block without: rolled back
            meter.advance(len(chunk))
    lines = [f"{'would invite' if args.dry_run else 'survey'} {args.survey} to {who} "
             f"(label {label}): {run.summary()}"]
    if unknown:
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        lines.append(f"{len(unknown)} member number(s) not found: {shown}")
    return "\n".join(lines)


# -- report surveys -----------------------------------------------------------------------------


def default_period(today: date) -> tuple[date, date]:
    """The current month and the five before it."""
    index = today.year * 12 + today.month - 1 - (DEFAULT_MONTHS - 1)
    return date(index // 12, index % 12 + 1, 1), today


def _row(label: str, month: str, scores: Scores) -> str:
    responded = (
        round(scores.response_rate * scores.invited / 100) if scores.response_rate else 0
    )
    return (
        f"{label:<10} {month:<8} {scores.invited:>9,} {responded:>9,} "
        f"{figure(scores.response_rate, '%'):>7} {scores.answers:>9,} "
        f"{figure(scores.csat_percent, '%'):>7} {figure(scores.nps):>5}"
    )


HEADER = (
    f"{'store':<10} {'month':<8} {'invited':>9} {'answered':>9} {'rate':>7} {'answers':>9} "
    f"{'CSAT':>7} {'NPS':>5}"
)


def format_report(report: SurveyReport) -> str:
    """The report as the terminal shows it: by store and month, by store, by month, totals."""
    where = f", store {report.store_code}" if report.store_code else ""
    out = [
        f"Satisfaction surveys, {report.day_from} to {report.day_to}{where} "
        f"(days and months in {report.timezone})",
        "CSAT = share of 4-5 answers; NPS = % promoters (9-10) - % detractors (0-6);",
        "invited/answered/rate count the invitations of the month, answers those given in it.",
        "",
    ]
    if report.total.answers == 0 and report.total.invited == 0:
        out.append("No invitations or answers in this period.")
        return "\n".join(out)
    out += ["By store and month", HEADER]
    out += [_row(store, month, s) for (store, month), s in report.cells.items()]
    out += ["", "By store", HEADER]
    out += [_row(store, "all", s) for store, s in report.by_store.items()]
    out += ["", "By month", HEADER]
    months = set(months_between(report.day_from, report.day_to)) | set(report.by_month)
    empty = report.total.__class__(0, 0, None, None, None, {})
    out += [_row("all", m, report.by_month.get(m, empty)) for m in sorted(months)]
    out += ["", f"{'category':<19} {'answers':>9} {'CSAT':>7} {'NPS':>5}"]
    out += [
        f"{category[:19]:<19} {s.answers:>9,} {figure(s.csat_percent, '%'):>7} "
        f"{figure(s.nps):>5}"
        for category, s in report.by_category.items()
    ]
    out += ["", HEADER, _row("all", "all", report.total)]
    out += ["", "Scores: " + ", ".join(
        f"{kind.value.upper()} " + " ".join(f"{score}:{n}" for score, n in counts.items())
        for kind, counts in report.distribution.items()
    )]
    return "\n".join(out)


async def report(app: App, args: argparse.Namespace) -> str:
    today = local_day(app.clock.now(), app.policy.timezone)
    first, last = default_period(today)
    day_from, day_to = report_period(args, last, lambda _last: first)
    async with app.uow_factory() as uow:
        result = await survey_report(uow, app.policy, day_from, day_to, args.store)
    text = format_report(result)
    if args.png:
        from bot.charts import write_charts

        paths = await asyncio.to_thread(write_charts, result, Path(args.png))
        text += "\n\nCharts:\n" + "\n".join(f"  {path}" for path in paths)
    return text


# -- the commands -------------------------------------------------------------------------------


def cmd_surveys_invite(args: argparse.Namespace) -> int:
    """Invite a tier, a store's members or a file's members to a survey."""

    async def work(app: App) -> int:
        try:
            print(await invite(app, args))
        except (LookupError, ValueError) as exc:
            raise CliError(str(exc)) from exc
        return 0

    return run_with_app(args, work)


def cmd_report_surveys(args: argparse.Namespace) -> int:
    """CSAT, NPS and response rate by store and month; the charts as PNG with --png."""
    return run_and_print(args, report)


def add_survey_commands(sub: SubParsers) -> None:
    """`surveys invite` and `report surveys`, on the main parser."""
    p = sub.add_parser("surveys", help="satisfaction surveys: invite a segment")
    surveys = p.add_subparsers(dest="surveys_command", metavar="ACTION", required=True)
    q = surveys.add_parser(
        "invite", help="invite a tier, a store's members or a list of members to a survey"
    )
    add_common_options(q)
    q.add_argument("--survey", required=True, help="a key of [surveys.definitions]: csat, nps")
    group = q.add_mutually_exclusive_group(required=True)
    group.add_argument("--tier", help="every member of this tier (member, silver, gold)")
    group.add_argument("--store", help="every member whose home store has this code")
    group.add_argument("--members", metavar="FILE", help="member numbers, one per line or CSV")
    q.add_argument(
        "--label",
        help="names this wave; a member is invited once per label (default: SURVEY-YYYYMMDD)",
    )
    q.add_argument("--dry-run", action="store_true", help="count who would be invited")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_surveys_invite)

    p = sub.add_parser("report", help="reports: report surveys")
    reports = p.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    q = reports.add_parser(
        "surveys", help="CSAT, NPS and response rate by store and month, with PNG charts"
    )
    add_report_options(q, png_help="also write the charts as PNG files here")
    q.set_defaults(func=cmd_report_surveys)
