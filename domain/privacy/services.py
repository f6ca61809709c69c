"""Use cases of privacy: consent per purpose, the member's copy of their data, deletion with a
cooling-off period, merging duplicates, and retention. None of them commits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.members.events import MarketingConsentChanged
from domain.privacy.events import ConsentWithdrawn, MemberErased, MembersMerged
from domain.privacy.model import (
    Consent,
    ConsentSource,
    DuplicatePair,
    ErasureRequest,
    MergeResult,
    Purpose,
    RetentionRun,
)
from domain.privacy.rules import DEFAULT_MIN_SCORE, find_duplicates, most_restrictive
from domain.shared.errors import DomainError, MemberNotFound
from domain.shared.member_data import Export, erase_member, export_member, reassign_member
from domain.tickets.model import AuditEntry

if TYPE_CHECKING:
    from domain.members.model import Member
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork

# An average month, for retention cut-offs: a day either way does not matter there.
DAYS_PER_MONTH = 30.44


class MergeRefused(DomainError):
    """A merge that cannot be done; the message says why (in English, for the command line),
    `key` and `params` say it in the catalogue's words (`merge.reason.*`) for the chat."""


# -- consent -----------------------------------------------------------------------------------


async def consents_of(uow: UnitOfWork, member: Member) -> dict[Purpose, Consent]:
    """Every purpose's state for the member: what they decided, else the default.

    Marketing is what the member row says (the import, /stop and /profile keep it), with the
    how and when of the last recorded change when that agrees with it.
    """
    assert member.id is not None
    recorded = await uow.consents.recorded(member.id)
    found: dict[Purpose, Consent] = {}
    for purpose in Purpose:
        consent = recorded.get(purpose)
        if purpose is Purpose.MARKETING:
            if consent is None or consent.granted != member.marketing_consent:
                consent = Consent(purpose, member.marketing_consent, ConsentSource.DEFAULT,
                                  member.opted_out_at)
        elif consent is None:
            consent = Consent(purpose, True, ConsentSource.DEFAULT)
        found[purpose] = consent
    return found


async def set_consent(
    uow: UnitOfWork,
    policy: Policy,
    member_id: int,
    purpose: Purpose,
    granted: bool,
    now: datetime,
    source: ConsentSource = ConsentSource.CHAT,
) -> Consent:
    """Turn one purpose on or off; logged with the wording version now in force. Marketing is
    also set on the member row, so /stop, campaigns and the outbox see it."""
    member = await uow.members.get(member_id)
    if member is None:
        raise MemberNotFound(f"there is no member {member_id}")
    consent = Consent(purpose, granted, source, now, policy.privacy.consent_wording_version)
    if purpose is Purpose.MARKETING and member.marketing_consent != granted:
        if granted:
            member.give_consent()
        else:
            member.withdraw_consent(now)
        await uow.members.update(member)
    await uow.consents.save(member_id, consent)
    if not granted:
        await uow.record(ConsentWithdrawn(at=now, member_id=member_id, purpose=purpose))
    return consent


async def when_marketing_consent_changed(
    uow: UnitOfWork, event: MarketingConsentChanged, *, policy: Policy
) -> None:
    """/stop, /profile and the join flow changed marketing consent: keep it in the log."""
    source = {
        "stop": ConsentSource.STOP,
        "import": ConsentSource.IMPORT,
    }.get(event.source, ConsentSource.CHAT)
    await uow.consents.save(
        event.member_id,
        Consent(
            Purpose.MARKETING, event.granted, source, event.at,
            policy.privacy.consent_wording_version,
        ),
    )


async def log_imported_consents(
    uow: UnitOfWork, changes: Iterable[tuple[int, bool]], now: datetime
) -> int:
    """The members file set marketing consent: each change goes to the log, source "import"
    (the file's wording is the chain's, not ours: no version)."""
    wanted = list(changes)
    if wanted:
        await uow.consents.save_many(
            wanted, Consent(Purpose.MARKETING, True, ConsentSource.IMPORT, now)
        )
    return len(wanted)


# -- the member's own data ---------------------------------------------------------------------

# Columns a member's copy leaves out: internal keys and tokens that would let someone else
# answer their survey or forge a button, not data about them.
HIDDEN_COLUMNS = frozenset({"token", "state_data", "dedupe_key", "buttons", "photo"})


async def export_for_member(uow: UnitOfWork, member_id: int) -> Export:
    """Everything every feature holds about the member, minus internal tokens."""
    data = await export_member(uow.member_data, member_id)
    return {
        table: [{k: v for k, v in row.items() if k not in HIDDEN_COLUMNS} for row in rows]
        for table, rows in data.items()
        if rows
    }


def export_json(data: Export, member_no: str, now: datetime) -> bytes:
    """The machine-readable copy: one JSON document, tables as lists of rows."""
    document = {"member_no": member_no, "exported_at": now.isoformat(), "tables": data}
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def readable_summary(data: Export, member_no: str, now: datetime) -> str:
    """The human-readable copy: a profile and a count and a sample of everything else."""
    lines = [f"Member {member_no} - data held on {now:%Y-%m-%d %H:%M %Z}", ""]
    profile = (data.get("members") or [{}])[0]
    for key in ("member_no", "name", "phone", "birthday", "tier", "language",
                "marketing_consent", "joined_at"):
        if key in profile:
            lines.append(f"  {key}: {profile[key]}")
    for table, rows in sorted(data.items()):
        if table == "members":
            continue
        lines.append("")
        lines.append(f"{table}: {len(rows)} row(s)")
        for row in rows[:200]:
            shown = ", ".join(f"{k}={_short(v)}" for k, v in row.items() if v not in (None, ""))
            lines.append(f"  - {shown}")
        if len(rows) > 200:
            lines.append(f"  ... and {len(rows) - 200} more (all of them are in the JSON file)")
    return "\n".join(lines) + "\n"


def counts(data: Export) -> dict[str, int]:
    """Rows per table, for "what you hold about me"."""
    return {table: len(rows) for table, rows in sorted(data.items()) if rows}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."


async def request_erasure(
    uow: UnitOfWork, policy: Policy, member_id: int, now: datetime
) -> ErasureRequest:
    """"Delete my account": carried out after the cooling-off period; asking twice keeps the
    first request."""
    pending = await uow.privacy.pending_erasure(member_id)
    if pending is not None:
        return pending
    due = now + timedelta(days=policy.privacy.erase_cooling_off_days)
    request = await uow.privacy.add_erasure(ErasureRequest(member_id, now, due))
    await uow.audit.add(AuditEntry(f"member:{member_id}", "member.erase_request", now,
                                   member_id=member_id, detail=f"due {due.date().isoformat()}"))
    return request


async def cancel_erasure(uow: UnitOfWork, member_id: int, now: datetime) -> bool:
    """The member changed their mind during the cooling-off period; False when nothing was
    pending."""
    pending = await uow.privacy.pending_erasure(member_id)
    if pending is None or pending.id is None:
        return False
    cancelled = await uow.privacy.cancel_erasure(pending.id, now)
    if cancelled:
        await uow.audit.add(AuditEntry(f"member:{member_id}", "member.erase_cancel", now,
                                       member_id=member_id))
    return cancelled


async def erase_now(
    uow: UnitOfWork, member_id: int, now: datetime, *, actor: str, reason: str = ""
) -> dict[str, int]:
    """Forget the member in every feature now, keeping the chain's books; audited."""
    member = await uow.members.get(member_id)
    if member is None:
        raise MemberNotFound(f"there is no member {member_id}")
    changed = await erase_member(uow.member_data, member_id)
    pending = await uow.privacy.pending_erasure(member_id)
    if pending is not None and pending.id is not None:
        await uow.privacy.finish_erasure(pending.id, now)
    total = sum(changed.values())
    await uow.audit.add(AuditEntry(actor, "member.erase", now, member_id=member_id,
                                   detail=f"{total} rows {reason}".strip()))
    await uow.record(MemberErased(now, member_id))
    return changed


async def erase_due(uow: UnitOfWork, now: datetime, limit: int = 100) -> int:
    """Carry out the deletions whose cooling-off period is over; how many."""
    if limit <= 0:
        return 0
    done = 0
    for request in await uow.privacy.due_erasures(now, limit):
        await erase_now(uow, request.member_id, now, actor="system",
                        reason="at the member's request")
        done += 1
    return done


# -- duplicates and merges ---------------------------------------------------------------------


async def likely_duplicates(
    uow: UnitOfWork, min_score: int = DEFAULT_MIN_SCORE
) -> list[DuplicatePair]:
    """Pairs of members that are probably one person, best first, with their evidence."""
    return find_duplicates(await uow.privacy.member_facts(), min_score)


async def resolve_member(uow: UnitOfWork, number: str) -> Member | None:
    """A member by number, or by a number merged into another (its alias)."""
    member = await uow.members.get_by_member_no(number)
    if member is not None:
        return member
    target = await uow.privacy.alias_target(number)
    return await uow.members.get(target) if target is not None else None


async def merge_members(
    uow: UnitOfWork,
    keep_no: str,
    drop_no: str,
    now: datetime,
    *,
    actor: str,
    dry_run: bool = False,
) -> MergeResult:
    """Move everything of member `drop_no` to `keep_no`, in the caller's transaction.

    Consents: the most restrictive wins. The dropped member's row is removed and its number
    kept as an alias of the kept member, which imports and look-ups still resolve. With
    `dry_run` the same work is done and reported; the caller rolls it back.
    """
    if keep_no == drop_no:
        raise MergeRefused(f"member {keep_no} cannot be merged into themselves",
                           key="merge.reason.same", number=keep_no)
    kept = await uow.members.get_by_member_no(keep_no)
    if kept is None or kept.id is None:
        target = await uow.privacy.alias_target(keep_no)
        if target is not None:
            raise MergeRefused(f"member {keep_no} was merged into another member already; "
                               "keep that member instead",
                               key="merge.reason.keep_merged", number=keep_no)
        raise MergeRefused(f"there is no member {keep_no}", key="merge.reason.no_member",
                           number=keep_no)
    dropped = await uow.members.get_by_member_no(drop_no)
    if dropped is None or dropped.id is None:
        target = await uow.privacy.alias_target(drop_no)
        if target is not None:
            raise MergeRefused(f"member {drop_no} was merged already (it is an alias now)",
                               key="merge.reason.drop_merged", number=drop_no)
        raise MergeRefused(f"there is no member {drop_no}", key="merge.reason.no_member",
                           number=drop_no)
    kept_consents = await uow.consents.recorded(kept.id)
    dropped_consents = await uow.consents.recorded(dropped.id)
    moved = await reassign_member(uow.member_data, dropped.id, kept.id)
    for purpose in Purpose:
        first = kept_consents.get(purpose)
        second = dropped_consents.get(purpose)
        if purpose is Purpose.MARKETING:
            first = first or Consent(purpose, kept.marketing_consent, ConsentSource.DEFAULT)
            second = second or Consent(purpose, dropped.marketing_consent,
                                       ConsentSource.DEFAULT)
        granted = most_restrictive(first, second, purpose)
        current = (first.granted if first is not None else not purpose.opt_in)
        if granted != current or (purpose is Purpose.MARKETING
                                  and granted != kept.marketing_consent):
            if purpose is Purpose.MARKETING:
                if granted:
                    kept.give_consent()
                else:
                    kept.withdraw_consent(now)
            await uow.consents.save(kept.id, Consent(purpose, granted, ConsentSource.MERGE, now))
    # What the card holder filled in on one registration and not the other is kept.
    fresh = await uow.members.get(kept.id)
    assert fresh is not None
    fresh = replace(
        fresh,
        birthday=fresh.birthday or dropped.birthday,
        home_store_id=fresh.home_store_id or dropped.home_store_id,
        marketing_consent=kept.marketing_consent,
        opted_out_at=kept.opted_out_at,
        joined_at=min(fresh.joined_at, dropped.joined_at),
    )
    phone = dropped.phone if fresh.phone is None else None
    await uow.privacy.delete_member_row(dropped.id)
    if phone is not None:
        fresh.phone = phone  # free now that the dropped row is gone
    await uow.members.update(fresh)
    await uow.privacy.add_alias(drop_no, kept.id, now)
    await uow.record(MembersMerged(now, kept.id, dropped.id))
    await uow.audit.add(AuditEntry(actor, "member.merge", now, member_id=kept.id,
                                   detail=f"merged member id {dropped.id} ({drop_no})"))
    balance = await uow.ledger.balance(kept.id)
    after = await uow.members.get(kept.id)
    return MergeResult(kept.id, dropped.id, drop_no, moved, balance,
                       after.tier if after else kept.tier, dry_run)


# -- retention ---------------------------------------------------------------------------------


def months_ago(now: datetime, months: int) -> datetime:
    return now - timedelta(days=months * DAYS_PER_MONTH)


async def apply_retention(uow: UnitOfWork, policy: Policy, now: datetime) -> RetentionRun:
    """Remove the free texts older than the policy keeps them (0 months: kept for ever)."""
    rules = policy.privacy.retention
    run = RetentionRun()
    steps: Sequence[tuple[str, int, Any]] = (
        ("ticket texts", rules.ticket_texts_months, uow.privacy.purge_ticket_texts),
        ("survey comments", rules.survey_comments_months, uow.privacy.purge_survey_comments),
        ("chat states", rules.chat_states_months, uow.privacy.purge_chat_states),
        ("outbox texts", rules.outbox_texts_months, uow.privacy.purge_outbox_texts),
    )
    for kind, months, purge in steps:
        run.removed[kind] = await purge(months_ago(now, months)) if months > 0 else 0
    return run
