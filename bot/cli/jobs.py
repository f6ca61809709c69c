"""`retailbot jobs list` and `jobs run NAME`: the scheduled jobs, and running one by hand."""

from __future__ import annotations

import argparse
from zoneinfo import ZoneInfo

from bot.bootstrap import App, build_messenger, build_sender, job_context
from bot.cli.common import CliError, SubParsers, add_common_options, local_time, run_with_app
from bot.config import ConfigError


def cmd_jobs_list(args: argparse.Namespace) -> int:
    """Every job with its schedule, next run, and last run and result."""
    from scheduler.registry import job_specs, next_fire
    from storage.jobs.scheduling import stored_next_runs

    async def work(app: App) -> int:
        stored = await stored_next_runs(app.engine)
        async with app.uow_factory() as uow:
            runs = await uow.jobs.runs()
        now = app.clock.now()
        tz = ZoneInfo(app.policy.timezone)
        for spec in job_specs(app.policy):
            if spec.name in stored:
                upcoming = local_time(stored[spec.name], tz) if stored[spec.name] else "paused"
            elif spec.trigger is None:
                upcoming = "continuous (with `retailbot run`)"
            else:
                upcoming = f"{local_time(next_fire(spec, now), tz)} (once `retailbot run` starts)"
            print(f"{spec.name}\n  what: {spec.description}\n  next run: {upcoming}")
            run = runs.get(spec.name)
            if run is None:
                print("  last run: never")
                continue
            state = "running" if run.ok is None else ("ok" if run.ok else "FAILED")
            print(
                f"  last run: {local_time(run.started_at, tz)} -> {state} "
                f"({run.runs} run(s) so far)\n  result: {run.result or '-'}"
            )
        return 0

    return run_with_app(args, work)


def cmd_jobs_run(args: argparse.Namespace) -> int:
    """Run one job now, in this process, and print its result."""
    from scheduler.registry import install, spec_named

    async def work(app: App) -> int:
        try:
            spec = spec_named(app.policy, args.name)
        except LookupError as exc:
            raise CliError(str(exc)) from exc
        messenger = None
        sender = None
        if args.name == "outbox-sender":
            try:
                messenger = build_messenger(app.settings)
            except ConfigError as exc:
                raise CliError(str(exc)) from exc
            await messenger.start()
            sender = build_sender(app, messenger)
        install(job_context(app, sender))
        try:
            result = await spec.func()
        except Exception as exc:  # recorded in job_runs by the job itself; one line here
            raise CliError(f"{spec.name} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            install(None)
            if messenger is not None:
                await messenger.close()
        print(f"{spec.name}: {result}")
        return 0

    return run_with_app(args, work)


def add_jobs_commands(sub: SubParsers) -> None:
    """`jobs list` and `jobs run NAME`, on the main parser."""
    p = sub.add_parser("jobs", help="list the scheduled jobs, or run one now")
    jobs = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    q = jobs.add_parser("list", help="every job with its next and last run and result")
    add_common_options(q)
    q.set_defaults(func=cmd_jobs_list)
    q = jobs.add_parser("run", help="run one job now (birthday-coupons, coupon-expiry...)")
    add_common_options(q)
    q.add_argument("name", help="the job's name, as `jobs list` shows it")
    q.set_defaults(func=cmd_jobs_run)
