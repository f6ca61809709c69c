"""`retailbot campaign create|list|show|preview|start|pause|resume|report`: campaigns from the
command line. Starting from the CLI needs no staff role (whoever runs it runs the shop's
server); it is audited as `cli`, and queues the first wave at once, in batches."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import CliError, SubParsers, add_common_options, run_with_app
from domain.campaigns.model import CampaignError, CampaignReport, ScheduleKind
from domain.campaigns.rules import spec_from_mapping
from domain.shared.text import parse_id

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from bot.bootstrap import App
    from domain.campaigns.model import Campaign, CampaignSpec
    from domain.shared.ports import UnitOfWork

    # pause_campaign, resume_campaign: (uow, campaign id, actor, now) -> the campaign
    StatusChange = Callable[[UnitOfWork, int, str, datetime], Awaitable[Campaign]]

ACTOR = "cli"
MAX_PHOTO = 5 * 1024 * 1024  # Telegram takes photos up to 10 MB; a campaign's stays well below


def read_campaign_file(path: Path, app: App) -> CampaignSpec:
    """The campaign in a TOML file; a CliError (with the line for a TOML mistake) otherwise."""
    if not path.is_file():
        raise CliError(f"{path} does not exist or is not a file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path}: {exc}") from exc  # the message names line and column
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text") from exc
    photo: bytes | None = None
    message = data.get("message")
    if isinstance(message, dict) and message.get("photo"):
        photo_path = (path.parent / str(message.pop("photo"))).resolve()
        if not photo_path.is_file():
            raise CliError(f"{path}: message.photo {photo_path.name} does not exist")
        photo = photo_path.read_bytes()
        if len(photo) > MAX_PHOTO:
            raise CliError(f"{path}: message.photo is over {MAX_PHOTO // 1024 // 1024} MB")
    try:
        return spec_from_mapping(data, app.policy, photo)
    except CampaignError as exc:
        raise CliError(f"{path}: {exc}") from exc


def describe(campaign: Campaign) -> list[str]:
    spec = campaign.spec
    a, s = spec.audience, spec.schedule
    filters = [
        f"segments {', '.join(a.segments)}" if a.segments else "",
        f"lifecycle {', '.join(a.lifecycle)}" if a.lifecycle else "",
        f"tiers {', '.join(a.tiers)}" if a.tiers else "",
        f"stores {', '.join(a.stores)}" if a.stores else "",
        ("birthday this month" if a.birthday_month == 0 else f"birthday month {a.birthday_month}")
        if a.birthday_month is not None
        else "",
        f"days since last purchase {_range(a.days_since_purchase)}"
        if a.days_since_purchase != (None, None)
        else "",
        f"P(alive) {_range(a.p_alive)}" if a.p_alive != (None, None) else "",
        f"points {_range(a.points)}" if a.points != (None, None) else "",
        "consenting members only" if a.consent_only else "",
    ]
    if s.kind is ScheduleKind.ONCE:
        when = f"once at {s.at:%Y-%m-%d %H:%M} local time in each store's zone"
    elif s.kind is ScheduleKind.RECURRING:
        when = f"recurring, cron '{s.cron}'"
    else:
        when = f"triggered by {s.trigger.value if s.trigger else '?'}"
        if s.segment:
            when += f" ({s.segment})"
        if s.days:
            when += f", {s.days} days"
    if s.kind is not ScheduleKind.ONCE:
        when += (
            "; once per member"
            if s.reentry_days is None
            else f"; again after {s.reentry_days} days"
        )
    return [
        f"campaign {campaign.id}: {spec.name} [{campaign.status.value}] priority {spec.priority}",
        f"  audience: {'; '.join(f for f in filters if f) or 'every member'}",
        f"  schedule: {when}",
        f"  coupon: {spec.coupon_template or 'none'}; control share: "
        f"{'policy default' if spec.control_share is None else f'{spec.control_share:.0%}'}",
        f"  buttons: {', '.join(spec.message.buttons) or 'none'}"
        f"{'; with a photo' if spec.message.photo else ''}",
        f"  en: {spec.message.en}",
        f"  zh: {spec.message.zh}",
    ]


def _range(pair: tuple[object, object]) -> str:
    low, high = pair
    return f"{'' if low is None else low}..{'' if high is None else high}"


def cmd_create(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        from domain.campaigns.services import create_campaign

        spec = read_campaign_file(Path(args.file), app)
        async with app.uow_factory() as uow:
            campaign = await create_campaign(uow, spec, ACTOR, app.clock.now())
            await uow.commit()
        print(
            f"created campaign {campaign.id} ({spec.name}) as a draft; "
            f"preview it with `retailbot campaign preview {campaign.id}`"
        )
        return 0

    return run_with_app(args, work)


def cmd_list(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        async with app.uow_factory() as uow:
            found = await uow.campaigns.find()
            counts = await uow.campaigns.counts_by_cohorts([c.id for c in found if c.id])
        if not found:
            print("no campaigns yet")
        for c in found:
            n = counts.get(c.id, {})
            print(
                f"{c.id:>4}  {c.status.value:<9} {c.spec.schedule.kind.value:<10} "
                f"p{c.spec.priority:<4} treated {n.get('treated', 0):>7}  control "
                f"{n.get('control', 0):>6}  skipped {n.get('skipped', 0):>6}  {c.name}"
            )
        return 0

    return run_with_app(args, work)


def cmd_show(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        from domain.campaigns.services import load_campaign

        async with app.uow_factory() as uow:
            campaign = await load_campaign(uow, args.id)
        print("\n".join(describe(campaign)))
        return 0

    return run_with_app(args, work)


def cmd_preview(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        from domain.campaigns.services import preview_campaign

        async with app.uow_factory() as uow:
            preview = await preview_campaign(uow, app.policy, args.id, app.clock.now())
        f = preview.funnel
        print(f"matched                        {f.matched:>9}")
        print(f"with marketing consent         {f.consent:>9}")
        print(f"without /stop                  {f.not_stopped:>9}")
        print(f"reachable in Telegram          {f.reachable:>9}")
        print(f"under the weekly cap           {f.under_cap:>9}")
        print(f"global hold-out                {-f.holdout:>9}")
        print(f"control group                  {-f.control:>9}")
        print(f"will get it                    {f.will_get:>9}")
        print(f"\nthe message for {preview.sample_member}:")
        print(f"[zh] {preview.samples['zh']}")
        print(f"[en] {preview.samples['en']}")
        return 0

    return run_with_app(args, work)


def cmd_start(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        from domain.campaigns.services import start_campaign
        from scheduler.jobs.campaigns import send_wave

        now = app.clock.now()
        async with app.uow_factory() as uow:
            campaign = await start_campaign(uow, args.id, ACTOR, now)
            await uow.commit()
        print(f"campaign {campaign.id} is running")
        run = await send_wave(app.uow_factory, app.policy, args.id, now)
        if run is not None:
            print(f"first wave queued: {run.summary()}")
            for reason, n in sorted(run.skipped.items()):
                print(f"  skipped, {reason}: {n}")
        elif campaign.spec.schedule.kind is ScheduleKind.TRIGGERED:
            print("its messages go out as members meet the trigger")
        else:
            print("no wave is due yet; the campaign-waves job queues it when it is")
        return 0

    return run_with_app(args, work)


def cmd_pause(args: argparse.Namespace) -> int:
    from domain.campaigns.services import pause_campaign

    return _change(args, pause_campaign, "is paused; messages not yet sent were withdrawn")


def cmd_resume(args: argparse.Namespace) -> int:
    from domain.campaigns.services import resume_campaign

    return _change(args, resume_campaign, "is running again")


def _change(args: argparse.Namespace, change: StatusChange, said: str) -> int:
    """One status change of the campaign ID, committed, and what the campaign is now."""

    async def work(app: App) -> int:
        async with app.uow_factory() as uow:
            campaign = await change(uow, args.id, ACTOR, app.clock.now())
            await uow.commit()
        print(f"campaign {campaign.id} {said}")
        return 0

    return run_with_app(args, work)


def report_lines(report: CampaignReport) -> list[str]:
    d = report.delivery
    t, c = report.treated, report.control
    lines = [
        f"campaign {report.campaign.id}: {report.campaign.name} [{report.campaign.status.value}]",
        f"assigned: {report.cohorts.get('treated', 0)} treated, "
        f"{report.cohorts.get('control', 0)} control and {report.cohorts.get('holdout', 0)} "
        f"global hold-out (would have been sent), {report.cohorts.get('skipped', 0)} skipped",
        f"queued {sum(d.values())}: delivered {d.get('sent', 0)}, unknown {d.get('unknown', 0)}, "
        f"blocked {d.get('failed', 0)}, failed {d.get('dead', 0)}, "
        f"waiting {d.get('pending', 0) + d.get('deferred', 0)}, "
        f"skipped by the sender {d.get('skipped', 0)}",
    ]
    lines += [f"skipped, {why}: {n}" for why, n in sorted(report.skipped.items())]
    lines += [
        f"not interested: {report.not_interested}",
        f"coupons: {report.coupons_issued} issued, {report.coupons_redeemed} redeemed",
        f"within {report.attribution_days} days of the message (control: of when it would "
        "have been sent):",
        f"  treated: {t.members} members, {t.buyers} bought, {t.purchases} purchases, "
        f"revenue {t.revenue:.2f}, {_per(t.revenue, t.members)} per member",
        f"  control: {c.members} members, {c.buyers} bought, {c.purchases} purchases, "
        f"revenue {c.revenue:.2f}, {_per(c.revenue, c.members)} per member",
    ]
    up = report.uplift
    if up is None:
        lines.append("uplift: none yet (no treated or no control members)")
    else:
        lines.append(
            f"uplift in purchase rate: {up.difference * 100:+.2f} points "
            f"({up.treated_rate:.2%} vs {up.control_rate:.2%}), 95% interval "
            f"{up.low * 100:+.2f} to {up.high * 100:+.2f}"
        )
        if not up.conclusive:
            lines.append(
                "too small to conclude: each group needs enough members (campaigns."
                "min_group_size) and at least 5 buyers and 5 non-buyers"
            )
        elif up.low > 0 or up.high < 0:
            lines.append("the difference is unlikely to be chance (the interval excludes 0)")
        else:
            lines.append("no clear effect: the interval includes 0")
    if report.incremental_revenue is not None:
        lines.append(f"incremental revenue: {report.incremental_revenue:.2f}")
    r = report.referrals
    lines.append(
        f"referrals (all time): {sum(r.values())} links opened, "
        f"{r.get('attributed', 0)} waiting for a first purchase, {r.get('rewarded', 0)} "
        f"rewarded, {r.get('refused', 0)} refused"
    )
    return lines


def _per(total: object, members: int) -> str:
    from decimal import Decimal

    if not members or not isinstance(total, Decimal):
        return "-"
    return f"{total / members:.2f}"


def cmd_report(args: argparse.Namespace) -> int:
    async def work(app: App) -> int:
        from domain.campaigns.services import campaign_report

        async with app.uow_factory() as uow:
            report = await campaign_report(uow, app.policy, args.id, app.clock.now())
        print("\n".join(report_lines(report)))
        if args.png:
            from bot.charts import write_campaign_chart

            path = write_campaign_chart(report, Path(args.png))
            print(f"wrote {path}")
        return 0

    return run_with_app(args, work)


def _campaign_id(text: str) -> int:
    campaign_id = parse_id(text)
    if campaign_id is None:
        raise argparse.ArgumentTypeError(f"a campaign number such as 3, not {text!r}")
    return campaign_id


def add_campaign_commands(sub: SubParsers) -> None:
    campaign = sub.add_parser("campaign", help="targeted campaigns with control groups")
    actions = campaign.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a draft campaign from a TOML file")
    create.add_argument("file", help="the campaign file (see campaign.example.toml)")
    create.set_defaults(func=cmd_create)
    listing = actions.add_parser("list", help="every campaign, its status and counts")
    listing.set_defaults(func=cmd_list)
    for name, func, text in (
        ("show", cmd_show, "what a campaign targets, says and when"),
        ("preview", cmd_preview, "the funnel and the message for a sample member in zh and en"),
        ("start", cmd_start, "start a draft (audited) and queue its first wave"),
        ("pause", cmd_pause, "pause a running campaign; withdraw what is not yet sent"),
        ("resume", cmd_resume, "resume a paused campaign"),
        ("report", cmd_report, "delivery, skips, coupons, purchases, uplift, referrals"),
    ):
        parser = actions.add_parser(name, help=text)
        parser.add_argument("id", type=_campaign_id, help="the campaign number")
        if name == "report":
            parser.add_argument("--png", metavar="DIR", help="also write a chart as PNG here")
        parser.set_defaults(func=func)
    for parser in [create, listing, *actions.choices.values()]:
        if not any(a.dest == "database" for a in parser._actions):
            add_common_options(parser)
