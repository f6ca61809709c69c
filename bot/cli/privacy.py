"""`retailbot member show|export|erase|merge`, `members duplicates` and `keys rotate`: the
privacy desk of the chain's admins, every look at a member audited.

Each command that touches one member leaves an audit row naming the member by id and the
operator (`--by` a staff id, else "cli"), so `retailbot audit` shows who looked at, exported,
erased or merged whom. Nothing here prints to the log; what is shown goes to the operator's
terminal only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from bot.bootstrap import App
from bot.cli.common import CliError, SubParsers, add_common_options, run_with_app, telegram_user_id
from domain.shared.text import safe_display

if TYPE_CHECKING:
    from domain.members.model import Member
    from domain.privacy.model import Consent, Purpose
    from domain.shared.member_data import Export


def _actor(args: argparse.Namespace) -> str:
    """Who is acting: a staff id that is an admin (ADMIN_IDS or role admin), else "cli"."""
    by = getattr(args, "by", None)
    return f"staff:{by}" if by else "cli"


async def _check_admin(args: argparse.Namespace, app: App) -> None:
    by = getattr(args, "by", None)
    if by is None:
        return
    if int(telegram_user_id(by, "--by")) in app.settings.admin_ids:
        return
    from domain.staff.model import Role

    async with app.uow_factory() as uow:
        staff = await uow.staff.get_by_telegram_id(by)
    if staff is None or staff.role is not Role.ADMIN:
        raise CliError(f"staff {by} is not an admin: only admins may do this")


async def _member_id(app: App, number: str) -> int:
    from domain.privacy.services import resolve_member

    async with app.uow_factory() as uow:
        member = await resolve_member(uow, number.strip().upper())
    if member is None or member.id is None:
        raise CliError(f"there is no member {number!r}")
    return member.id


class _Look(NamedTuple):
    member: Member
    consents: dict[Purpose, Consent]
    data: Export
    at: datetime


async def _look_at_member(args: argparse.Namespace, app: App, action: str) -> _Look:
    """An admin's look at one member (`member show`, `member export`): everything held about
    them, their consents, and the audit row (`action`) that records who looked, committed."""
    from domain.privacy.services import consents_of, export_for_member
    from domain.tickets.model import AuditEntry

    await _check_admin(args, app)
    member_id = await _member_id(app, args.member_no)
    now = app.clock.now()
    async with app.uow_factory() as uow:
        member = await uow.members.get(member_id)
        assert member is not None
        consents = await consents_of(uow, member)
        data = await export_for_member(uow, member_id)
        await uow.audit.add(AuditEntry(_actor(args), action, now, member_id=member_id,
                                       detail=f"cli member {args.member_command}"))
        await uow.commit()
    return _Look(member, consents, data, now)


def cmd_member_show(args: argparse.Namespace) -> int:
    """A member's profile, consents and how many rows each feature holds (audited)."""
    from domain.privacy.services import counts

    async def work(app: App) -> int:
        member, consents, data, _ = await _look_at_member(args, app, "member.view")
        print(f"member {member.member_no} (id {member.id})")
        print(f"  name:     {safe_display(member.name)}")
        print(f"  phone:    {member.phone or '-'}")
        print(f"  birthday: {member.birthday.isoformat() if member.birthday else '-'}")
        print(f"  tier:     {member.tier}")
        print("consents:")
        for purpose, consent in consents.items():
            when = consent.changed_at.isoformat() if consent.changed_at else "-"
            state = "yes" if consent.granted else "no"
            print(f"  {purpose.value:<10} {state:<4} {consent.source.value:<8} {when} "
                  f"{consent.wording_version}")
        print("rows held:")
        for table, count in counts(data).items():
            print(f"  {table:<20} {count}")
        return 0

    return run_with_app(args, work)


def cmd_member_export(args: argparse.Namespace) -> int:
    """Everything held about a member as one JSON file (audited)."""
    from domain.privacy.services import export_json

    async def work(app: App) -> int:
        member, _, data, now = await _look_at_member(args, app, "member.export")
        written.append((member.member_no, export_json(data, member.member_no, now)))
        return 0

    written: list[tuple[str, bytes]] = []
    status = run_with_app(args, work)
    member_no, document = written[0]
    if args.out in (None, "-"):
        sys.stdout.write(document.decode("utf-8") + "\n")
        return status
    try:
        Path(args.out).write_bytes(document)
    except OSError as exc:
        raise CliError(f"could not write {args.out}: {exc.strerror}") from exc
    print(f"wrote {args.out}: everything held about member {member_no}")
    return status


def cmd_member_erase(args: argparse.Namespace) -> int:
    """Erase a member's personal data now, keeping the chain's books (audited)."""
    from domain.privacy.services import erase_now

    if not args.yes:
        raise CliError("erasing cannot be undone: run again with --yes to confirm")

    async def work(app: App) -> int:
        await _check_admin(args, app)
        member_id = await _member_id(app, args.member_no)
        async with app.uow_factory() as uow:
            changed = await erase_now(uow, member_id, app.clock.now(), actor=_actor(args),
                                      reason="by an admin")
            await uow.commit()
        detail = ", ".join(f"{name} {count}" for name, count in changed.items())
        print(f"erased member id {member_id}: {detail}")
        return 0

    return run_with_app(args, work)


def cmd_member_merge(args: argparse.Namespace) -> int:
    """Merge member DROP into KEEP in one transaction (audited); --dry-run shows it only."""
    from domain.privacy.services import MergeRefused, merge_members

    async def work(app: App) -> int:
        await _check_admin(args, app)
        async with app.uow_factory() as uow:
            try:
                result = await merge_members(
                    uow, args.keep.strip().upper(), args.drop.strip().upper(),
                    app.clock.now(), actor=_actor(args), dry_run=args.dry_run,
                )
            except MergeRefused as exc:
                raise CliError(str(exc)) from exc
            if args.dry_run:
                await uow.rollback()
            else:
                await uow.commit()
        moved = ", ".join(f"{name} {count}" for name, count in result.moved.items())
        verb = "would merge" if args.dry_run else "merged"
        print(f"{verb} {result.dropped_member_no} (id {result.dropped_id}) into "
              f"{args.keep.strip().upper()} (id {result.kept_id}): moved {moved}; "
              f"balance {result.balance} points, tier {result.tier}")
        return 0

    return run_with_app(args, work)


def cmd_members_duplicates(args: argparse.Namespace) -> int:
    """Likely duplicate members, best first, with the evidence and a score."""
    from domain.privacy.services import likely_duplicates

    if not 0 <= args.min_score <= 100:
        raise CliError(f"--min-score must be 0-100, not {args.min_score}")

    async def work(app: App) -> int:
        async with app.uow_factory() as uow:
            pairs = await likely_duplicates(uow, args.min_score)
        if args.json:
            print(json.dumps([
                {"first": p.first.member_no, "second": p.second.member_no, "score": p.score,
                 "evidence": list(p.evidence)} for p in pairs
            ], ensure_ascii=False, indent=2))
            return 0
        print(f"{'score':>5}  {'member':<12} {'member':<12} evidence")
        for pair in pairs:
            print(f"{pair.score:>5}  {pair.first.member_no:<12} {pair.second.member_no:<12} "
                  f"{'; '.join(pair.evidence)}")
        if not pairs:
            print(f"(no likely duplicates with a score of {args.min_score} or more)")
        return 0

    return run_with_app(args, work)


def _member_action(
    member: SubParsers, name: str, help: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """One `member ACTION` with what they all take: the common options and --by."""
    q = member.add_parser(name, help=help)
    add_common_options(q)
    q.add_argument("--by", metavar="ID",
                   help="the admin's Telegram user id, recorded in the audit (default cli)")
    q.set_defaults(func=func)
    return q


def add_privacy_commands(sub: SubParsers) -> None:
    """`member ...`, `members duplicates` and `keys rotate`, on the main parser."""
    p = sub.add_parser("member", help="one member's data: show, export, erase, merge (admin)")
    member = p.add_subparsers(dest="member_command", metavar="ACTION", required=True)
    q = _member_action(member, "show", "profile, consents and rows held (audited)",
                       cmd_member_show)
    q.add_argument("member_no", metavar="NO", help="the member number")
    q = _member_action(member, "export", "everything held about the member as JSON (audited)",
                       cmd_member_export)
    q.add_argument("member_no", metavar="NO", help="the member number")
    q.add_argument("--out", metavar="FILE", help="write the JSON here (default: standard output)")
    q = _member_action(member, "erase", "erase the member's personal data now (audited)",
                       cmd_member_erase)
    q.add_argument("member_no", metavar="NO", help="the member number")
    q.add_argument("--yes", action="store_true", help="confirm: erasing cannot be undone")
    q = _member_action(member, "merge", "merge member DROP into KEEP (audited)",
                       cmd_member_merge)
    q.add_argument("keep", metavar="KEEP", help="the member number kept")
    q.add_argument("drop", metavar="DROP", help="the member number merged into KEEP")
    q.add_argument("--dry-run", action="store_true", help="show what would move; change nothing")

    p = sub.add_parser("members", help="all members: likely duplicates")
    members = p.add_subparsers(dest="members_command", metavar="ACTION", required=True)
    q = members.add_parser("duplicates", help="likely duplicates with their evidence and score")
    add_common_options(q)
    q.add_argument("--min-score", type=int, default=60, metavar="N",
                   help="only pairs scoring at least N out of 100 (60)")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(func=cmd_members_duplicates)
    add_key_commands(sub)


REENCRYPT_PAGE = 1000  # members per transaction


def cmd_keys_new(args: argparse.Namespace) -> int:
    """Print a fresh data key for RETAILBOT_DATA_KEY (keep it in the secret store)."""
    from storage.protection import new_key_text

    print(new_key_text())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Rewrite every member's phone, name and birthday under RETAILBOT_DATA_KEY (reading the
    old values with RETAILBOT_OLD_DATA_KEYS), or in the clear with --decrypt."""
    from dataclasses import replace

    from bot.bootstrap import build_app
    from bot.cli.common import settings_for

    settings = settings_for(args)
    if args.decrypt:
        keys = tuple(k for k in (settings.data_key, *settings.old_data_keys) if k)
        if not keys:
            raise CliError("--decrypt needs the key the data is under in RETAILBOT_DATA_KEY")
        settings = replace(settings, data_key=None, old_data_keys=keys)
    elif not settings.data_key:
        raise CliError("RETAILBOT_DATA_KEY is not set: `retailbot keys new` makes one")

    async def rotate() -> int:
        app = await build_app(settings)
        try:
            total, after = 0, 0
            while True:
                async with app.uow_factory() as uow:
                    done, last = await uow.privacy.reencrypt_members(after, REENCRYPT_PAGE)
                    await uow.commit()
                if last is None:
                    break
                total, after = total + done, last
                print(f"... up to member id {last}: {total} rewritten", file=sys.stderr)
        finally:
            await app.close()
        how = "in the clear" if args.decrypt else "under the current key"
        print(f"{total} members rewritten {how}")
        return 0

    return asyncio.run(rotate())


def add_key_commands(sub: SubParsers) -> None:
    """`keys new` and `keys rotate`, on the main parser."""
    p = sub.add_parser("keys", help="the data key that encrypts phones, names and birthdays")
    keys = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    q = keys.add_parser("new", help="print a fresh key for RETAILBOT_DATA_KEY")
    add_common_options(q)  # taken like everywhere, though a new key needs no database
    q.set_defaults(func=cmd_keys_new)
    q = keys.add_parser(
        "rotate", help="re-encrypt every member under RETAILBOT_DATA_KEY (old keys in "
        "RETAILBOT_OLD_DATA_KEYS); also encrypts a database written in the clear",
    )
    add_common_options(q)
    q.add_argument("--decrypt", action="store_true",
                   help="write everything back in the clear (before removing the key)")
    q.set_defaults(func=cmd_keys_rotate)
