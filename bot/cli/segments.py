"""`retailbot segments refresh|show|export`: RFM segments, lifecycle and churn figures from the
command line."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import CliError, SubParsers, add_common_options, local_time, run_and_print
from bot.csvfiles import safe_writer
from domain.segments.services import segments_overview
from domain.shared.text import safe_display
from scheduler.jobs.segments import RefreshTimings, refresh_segments, summary

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.bootstrap import App
    from domain.segments.views import MemberFigures, OverviewRow

EXPORT_COLUMNS = (
    "member_no", "recency_days", "frequency", "monetary", "r", "f", "m", "segment", "lifecycle",
    "p_alive", "expected_purchases_90d",
)
# A spreadsheet runs a cell starting with one of these as a formula: such cells get a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


# -- refresh -----------------------------------------------------------------------------------


async def refresh(app: App, args: argparse.Namespace) -> str:
    timings = RefreshTimings()
    plan = await refresh_segments(
        app.uow_factory, app.policy, app.clock.now(), rebuild=args.rebuild, timings=timings
    )
    return (
        summary(plan)
        + f"\nTime: window {timings.window:.1f} s, reading {timings.load:.1f} s, "
        f"computing {timings.compute:.1f} s, writing {timings.write:.1f} s."
    )


# -- show --------------------------------------------------------------------------------------


def _figure(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(title: str, rows: list[OverviewRow]) -> list[str]:
    lines = [
        title,
        f"  {'':<26} {'members':>10} {'share':>7} {'avg spend':>11} {'P(alive)':>9} "
        f"{'change':>8}",
    ]
    for row in rows:
        change = "-" if row.change is None else f"{row.change:+,}"
        lines.append(
            f"  {safe_display(row.name)[:26]:<26} {row.members:>10,} {row.share:>7.1%} "
            f"{_figure(float(row.average_spend) if row.average_spend is not None else None):>11} "
            f"{_figure(row.average_p_alive):>9} {change:>8}"
        )
    return lines


async def show(app: App, args: argparse.Namespace) -> str:
    async with app.uow_factory() as uow:
        if args.member:
            figures = await uow.segments.figures(args.member.strip())
            if figures is None:
                member = await uow.members.get_by_member_no(args.member.strip())
                if member is None:
                    raise CliError(f"there is no member {safe_display(args.member)!r}")
                raise CliError(
                    f"member {safe_display(args.member)} has no figures yet: "
                    "run `retailbot segments refresh` first"
                )
            return _member_text(app, figures)
        overview = await segments_overview(uow, app.policy)
        grid = await uow.segments.rf_grid() if args.png else {}
    if overview is None:
        raise CliError("segments were never refreshed: run `retailbot segments refresh` first")
    record = overview.record
    zone = _zone(app)
    when = local_time(record.refreshed_at, zone)
    lines = [
        f"Segments as of {when}: {record.members:,} members, {record.scored:,} scored "
        f"({record.method}, window {app.policy.segments.window_days} days).",
        f"Churn model: {record.model}. {record.note}",
    ]
    if record.model == "bgnbd":
        lines.append(
            f"BG/NBD r={record.bg_r:.4g} alpha={record.bg_alpha:.4g} a={record.bg_a:.4g} "
            f"b={record.bg_b:.4g} log-likelihood={record.log_likelihood:.6g} (days)"
        )
    if overview.previous is not None:
        lines.append(
            f"Change since the refresh of {local_time(overview.previous.refreshed_at, zone)}."
        )
    lines += ["", *_table("Segments", overview.segments), ""]
    lines += _table("Lifecycle", overview.stages)
    if args.png:
        from bot.segment_charts import write_segment_charts

        sizes = [(row.name, row.members) for row in overview.segments]
        paths = await asyncio.to_thread(
            write_segment_charts, sizes, grid, Path(args.png), when[:10]
        )
        lines += ["", "Charts:", *(f"  {path}" for path in paths)]
    return "\n".join(lines)


def _zone(app: App) -> ZoneInfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(app.policy.timezone)


def _member_text(app: App, figures: MemberFigures) -> str:
    s = figures.segment
    policy = app.policy.segments
    return "\n".join(
        [
            f"Member {safe_display(figures.member_no)} "
            f"(as of {local_time(s.refreshed_at, _zone(app))})",
            f"  segment: {policy.segment_name(s.segment, 'en') or '-'}"
            f" · lifecycle: {policy.lifecycle_name(s.lifecycle.value, 'en')}",
            f"  recency: {'-' if s.recency_days is None else f'{s.recency_days} days'}"
            f" · frequency: {s.frequency} · monetary: {s.monetary:.2f}",
            f"  R {s.r or '-'} · F {s.f or '-'} · M {s.m or '-'}",
            f"  P(alive): {_figure(s.p_alive)} · expected purchases in 90 days: "
            f"{_figure(s.expected_purchases_90d)}",
            f"  high value: {'yes' if s.high_value else 'no'}"
            f" · churn warning: {'yes' if s.churn_flag else 'no'}",
        ]
    )


# -- export ------------------------------------------------------------------------------------


def export_row(figures: MemberFigures) -> list[str]:
    s = figures.segment

    def text(value: object) -> str:
        return "" if value is None else str(value)

    return [
        neutralise(cell)
        for cell in (
            figures.member_no,
            text(s.recency_days),
            str(s.frequency),
            f"{s.monetary:.2f}",
            text(s.r),
            text(s.f),
            text(s.m),
            text(s.segment),
            s.lifecycle.value,
            text(s.p_alive),
            text(s.expected_purchases_90d),
        )
    ]


async def export(app: App, args: argparse.Namespace) -> str:
    path = Path(args.file)
    if path.parent and not path.parent.is_dir():
        raise CliError(f"the folder {path.parent} does not exist")
    async with app.uow_factory() as uow:
        if await uow.segments.last_refresh() is None:
            raise CliError("segments were never refreshed: run `retailbot segments refresh` first")
        rows = await uow.segments.export_rows()
    await asyncio.to_thread(write_csv, path, rows)
    return f"wrote {len(rows):,} members to {path}"


def write_csv(path: Path, rows: list[MemberFigures]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = safe_writer(handle)  # formula-like cells neutralised (bot.csvfiles)
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(export_row(figures) for figures in rows)


# -- the commands -------------------------------------------------------------------------------


def _command(action: str) -> Callable[[argparse.Namespace], int]:
    handlers = {"refresh": refresh, "show": show, "export": export}

    def cmd(args: argparse.Namespace) -> int:
        return run_and_print(args, handlers[action])

    cmd.__doc__ = f"retailbot segments {action}"
    return cmd


def add_segment_commands(sub: SubParsers) -> None:
    """`segments refresh|show|export`, on the main parser."""
    p = sub.add_parser("segments", help="RFM segments, lifecycle stages and churn figures")
    actions = p.add_subparsers(dest="segments_command", metavar="ACTION", required=True)
    q = actions.add_parser(
        "refresh", help="recompute every member's scores, segment, lifecycle and churn figures"
    )
    add_common_options(q)
    q.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild the purchase statistics from every receipt first (after receipts were "
        "written around the importer)",
    )
    q.set_defaults(func=_command("refresh"))
    q = actions.add_parser(
        "show", help="members, share, spend and P(alive) per segment; one member with --member"
    )
    add_common_options(q)
    q.add_argument("--png", metavar="DIR", help="also write the charts as PNG files here")
    q.add_argument("--member", metavar="NO", help="show one member's figures")
    q.set_defaults(func=_command("show"))
    q = actions.add_parser("export", help="write every member's figures to a CSV file")
    add_common_options(q)
    q.add_argument("file", metavar="FILE", help="the CSV file to write")
    q.set_defaults(func=_command("export"))
