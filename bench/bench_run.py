"""`retailbot run` end to end: queued updates answered by the real process, beside an echo bot.

1,000 `/points` updates from 200 linked members wait in the Bot API stand-in (127.0.0.1) before
the bot starts; `retailbot run` (aiogram, long polling, with its scheduler and sender) is started
as a child process and answers them all. The baseline, in the same run and against the same
stand-in, is a bare aiogram echo bot (bench/echo_bot.py) answering the same 1,000 updates.
Answers per second are counted from the first answer to the last, so start-up is not in them;
start-up is reported on its own (process start to its first getUpdates call).

    PYTHONPATH=. python bench/bench_run.py [--members 200] [--updates 1000] [--pg URL]
    PYTHONPATH=. python bench/bench_run.py --memory 100000     # RSS of `run` as updates go by
    PYTHONPATH=. python bench/bench_run.py --startup            # start-up of `run` and `chat`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_points import FIRST_USER, seed
from bench.common import PG_SKIPPED, add_pg_option, temporary_postgres
from bot.bootstrap import build_app
from bot.config import Settings
from tests.support.standin import TOKEN, BotApiStandIn

WAIT_LIMIT = 600.0  # seconds any one phase may take before the bench gives up


class CountingStandIn(BotApiStandIn):
    """The stand-in, noting when each answer and the first getUpdates arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[float] = []
        self.answered: dict[Any, int] = {}  # answers per chat id, to name the chats left short
        self.first_poll: float | None = None
        self.progress = asyncio.Event()  # set at every answer and at the first getUpdates

    async def _api_sendmessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.answers.append(time.monotonic())
        self.answered[params.get("chat_id")] = self.answered.get(params.get("chat_id"), 0) + 1
        self.progress.set()
        return await super()._api_sendmessage(params, files)

    async def _api_getupdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if self.first_poll is None:
            self.first_poll = time.monotonic()
            self.progress.set()
        return await super()._api_getupdates(params, files)

    async def __aenter__(self) -> CountingStandIn:
        await self.start()
        return self

    def forget_history(self) -> None:
        """Long runs: drop what the stand-in keeps of past calls (its memory, not the bot's)."""
        self.calls.clear()
        self._messages.clear()


def _env(standin: BotApiStandIn, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(PYTHONPATH=str(ROOT), BOT_TOKEN=TOKEN, TELEGRAM_API_URL=standin.base_url,
               BOT_ENGINE="aiogram", LOG_LEVEL="INFO" if LOG["path"] else "WARNING")
    if url:
        env["DATABASE_URL"] = url
    return env


# Where the child processes' stderr goes (--log): their warnings and errors, for a run that
# lost answers. By default it is dropped.
LOG: dict[str, Path | None] = {"path": None}


async def _spawn(args: list[str], env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    path = LOG["path"]
    with contextlib.ExitStack() as files:
        stderr: Any = asyncio.subprocess.DEVNULL
        if path is not None:
            stderr = files.enter_context(path.open("ab"))
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, env=env, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_answers(standin: CountingStandIn, count: int) -> None:
    await _until(standin, lambda: len(standin.answers) >= count, WAIT_LIMIT)
    if len(standin.answers) < count:
        raise RuntimeError(f"only {len(standin.answers)} of {count} answers came")


async def _until(standin: CountingStandIn, done: Callable[[], bool], limit: float) -> None:
    """Wait (at most `limit` seconds) until `done()`, woken by the stand-in's progress."""
    deadline = time.monotonic() + limit
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        standin.progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(standin.progress.wait(), min(left, 1.0))


async def _until_quiet(standin: CountingStandIn, count: int, quiet: float) -> None:
    """Wait until `count` answers came, or none came for `quiet` seconds."""
    seen, last = len(standin.answers), time.monotonic()
    while len(standin.answers) < count and time.monotonic() - last < quiet:
        await _until(standin, lambda: len(standin.answers) >= count, 1.0)
        if len(standin.answers) != seen:
            seen, last = len(standin.answers), time.monotonic()


def _queue(standin: BotApiStandIn, users: list[dict[str, Any]], updates: int) -> None:
    for i in range(updates):
        standin.send_text(users[i % len(users)], "/points")


async def answer_rate(
    command: list[str], url: str | None, members: int, updates: int, cwd: Path
) -> tuple[float, float]:
    """(answers/s from first to last answer, seconds from start to the first getUpdates)."""
    async with CountingStandIn() as standin:
        users = [standin.user(FIRST_USER + i, "Bench", language_code="en")
                 for i in range(members)]
        _queue(standin, users, updates)
        started = time.monotonic()
        process = await _spawn(command, _env(standin, url), cwd)
        try:
            await _wait_answers(standin, updates)
        finally:
            await _stop(process)
        times = standin.answers[:updates]
        assert standin.first_poll is not None
        return (len(times) - 1) / (times[-1] - times[0]), standin.first_poll - started


async def seeded(url: str, members: int, entries: int) -> None:
    app = await build_app(Settings(database_url=url))
    try:
        await seed(app, members, entries)
    finally:
        await app.close()


async def compare(label: str, url: str, args: argparse.Namespace, cwd: Path) -> None:
    await seeded(url, args.members, args.entries)
    echo, echo_start = await answer_rate(
        [str(ROOT / "bench" / "echo_bot.py")], None, args.members, args.updates, cwd
    )
    run, run_start = await answer_rate(
        ["-m", "bot.cli", "run"], url, args.members, args.updates, cwd
    )
    print(f"{label}: {args.updates} queued /points updates from {args.members} members")
    print(f"  bare aiogram echo bot: {echo:7.0f} answers/s (start-up {echo_start:.2f} s)")
    print(f"  retailbot run:         {run:7.0f} answers/s (start-up {run_start:.2f} s)")
    verdict = "OK" if run / echo >= 1 / 3 else "BELOW GOAL"
    print(f"  ratio run / echo: {run / echo:.2f} ({verdict}: goal >= 0.33)")


async def memory(args: argparse.Namespace, cwd: Path) -> None:
    """RSS of one `retailbot run` process (SQLite) after every round of 1,000 updates."""
    url = f"sqlite+aiosqlite:///{cwd}/memory.db"
    await seeded(url, args.members, args.entries)
    async with CountingStandIn() as standin:
        users = [standin.user(FIRST_USER + i, "Bench", language_code="en")
                 for i in range(args.members)]
        process = await _spawn(["-m", "bot.cli", "run"], _env(standin, url), cwd)
        samples: list[tuple[int, int]] = []
        try:
            done = 0
            while done < args.memory:
                expected = len(standin.answers) + 1000
                _queue(standin, users, 1000)
                done += 1000
                # A missing answer is counted, not waited for forever: no answer for 30 s ends
                # the wait for this round.
                await _until_quiet(standin, expected, 30.0)
                standin.forget_history()
                if done % 10_000 == 0 or done == 1000:
                    samples.append((done, _rss_kib(process.pid)))
                    print(f"  after {done:7,d} updates: RSS {samples[-1][1] / 1024:6.1f} MiB "
                          f"({time.strftime('%H:%M:%S')})",
                          flush=True)
        finally:
            await _stop(process)
    missing = max(0, args.memory - len(standin.answers))
    print(f"updates not answered: {missing} of {args.memory:,d}")
    per_chat = args.memory // args.members  # _queue sends to the members in turn
    short = {chat: per_chat - n for chat, n in standin.answered.items() if n < per_chat}
    short.update({u["id"]: per_chat for u in users if u["id"] not in standin.answered})
    if short:
        print(f"chats answered less often than they wrote (chat: missing): {short}")
    first, last = samples[0][1], samples[-1][1]
    print(f"RSS after 1,000 updates {first / 1024:.1f} MiB, after {samples[-1][0]:,d} "
          f"{last / 1024:.1f} MiB ({(last - first) / 1024:+.1f} MiB)")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def startup(args: argparse.Namespace, cwd: Path) -> None:
    """Start-up of `run` (to its first getUpdates) and `chat` (to its answer and exit)."""
    url = f"sqlite+aiosqlite:///{cwd}/startup.db"
    await seeded(url, args.members, args.entries)
    runs: dict[str, list[float]] = {"python": [], "echo": [], "run": [], "chat": []}
    for _ in range(args.repeat):
        began = time.monotonic()
        bare = await _spawn(["-c", "pass"], dict(os.environ), cwd)
        await bare.wait()
        runs["python"].append(time.monotonic() - began)
        for name, command, db in (("echo", [str(ROOT / "bench" / "echo_bot.py")], None),
                                  ("run", ["-m", "bot.cli", "run"], url)):
            async with CountingStandIn() as standin:
                began = time.monotonic()
                process = await _spawn(command, _env(standin, db), cwd)
                try:
                    await _until(standin, lambda: standin.first_poll is not None, 60)
                finally:
                    await _stop(process)
                assert standin.first_poll is not None
                runs[name].append(standin.first_poll - began)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
        env.update(PYTHONPATH=str(ROOT), DATABASE_URL=url)
        began = time.monotonic()
        chat = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "chat", "--as", "B000001", env=env, cwd=cwd,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.wait_for(chat.communicate(b"/points\n:quit\n"), 60)
        runs["chat"].append(time.monotonic() - began)
    med = {name: sorted(v)[len(v) // 2] for name, v in runs.items()}
    print(f"start-up, median of {args.repeat} (SQLite, {args.members} members):")
    print(f"  python -c pass:                         {med['python']:.2f} s")
    print(f"  bare aiogram echo bot, to 1st getUpdates: {med['echo']:.2f} s")
    print(f"  retailbot run, to its first getUpdates:   {med['run']:.2f} s")
    print(f"  retailbot chat, /points and :quit:         {med['chat']:.2f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--entries", type=int, default=40)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--memory", type=int, default=0, help="updates for the RSS run")
    parser.add_argument("--startup", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--log", type=Path, help="append the children's stderr to this file")
    add_pg_option(parser)
    args = parser.parse_args()
    LOG["path"] = args.log
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        if args.memory:
            await memory(args, cwd)
            return
        if args.startup:
            await startup(args, cwd)
            return
        await compare("SQLite", f"sqlite+aiosqlite:///{cwd}/run.db", args, cwd)
        if args.pg and not args.sqlite_only:
            async with temporary_postgres(args.pg) as url:
                await compare("PostgreSQL", url, args, cwd)
        else:
            print(PG_SKIPPED)


if __name__ == "__main__":
    asyncio.run(main())
