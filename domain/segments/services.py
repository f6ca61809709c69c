"""Use cases of segments: keep purchase statistics current as receipts are booked, refresh
every member's scores, segment, lifecycle stage and churn figures, and queue the staff's weekly
digest of moves. None of them commits: the booking, job or command that calls them does.

A refresh runs in steps, each its own transaction (scheduler/jobs/segments.py):
1. `move_window`: the window figures of the statistics move forward to the new window start,
   recorded in a new refresh row in the same transaction (so a crash never subtracts twice);
2. `load_stats` reads every member's statistics, `compute_refresh` scores them in memory
   (numpy; the BG/NBD fit) without holding a transaction;
3. `write_slice` writes the scores a slice at a time and records one `MembersMoved` with the
   `LifecycleChanged` and `SegmentChanged` of the members of the slice whose stage or segment
   changed;
4. `finish_refresh` stores the model, segment sizes and the counts of moves.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from domain.loyalty.events import ReceiptsBooked
from domain.messaging.model import MessageKind, OutboxMessage
from domain.privacy.events import ConsentWithdrawn
from domain.privacy.model import Purpose
from domain.segments import churn, rules
from domain.segments.events import LifecycleChanged, MembersMoved, SegmentChanged
from domain.segments.model import Lifecycle, MemberSegment
from domain.segments.views import (
    MemberStatsDelta,
    Overview,
    OverviewRow,
    RefreshRecord,
    SegmentMove,
    SegmentSize,
    StatsColumns,
)
from domain.shared.outbox import queue_message

if TYPE_CHECKING:
    from domain.segments.policy import SegmentPolicy
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork

log = logging.getLogger(__name__)

DAY = 86_400.0
HORIZON_DAYS = 90  # expected purchases are for this many days ahead
NONE_KEY = ""  # "in no segment" / "not scored before" in sizes and moves
DIGEST_TOP = 8  # moves listed in the weekly digest


# -- statistics kept current on booking ------------------------------------------------------


def stats_deltas(
    receipts: ReceiptsBooked, window_start: datetime | None
) -> list[MemberStatsDelta]:
    """What a booking adds to each member's statistics. A sale is a purchase; a refund lowers
    spend and is no purchase (as in the points rules). Window figures count receipts from
    `window_start` on (none before the first refresh, which builds them from the receipts)."""
    # Per member: first and last purchase, purchases, spend, window purchases, window spend.
    # Plain lists and local names: an import adds a few thousand receipts at a time.
    by_member: dict[int, list[Any]] = {}
    for receipt in receipts.receipts:
        cents = int(receipt.amount * 100)
        at = receipt.occurred_at
        in_window = window_start is not None and at >= window_start
        entry = by_member.get(receipt.member_id)
        if entry is None:
            entry = by_member[receipt.member_id] = [None, None, 0, 0, 0, 0]
        if cents > 0:
            if entry[0] is None or at < entry[0]:
                entry[0] = at
            if entry[1] is None or at > entry[1]:
                entry[1] = at
            entry[2] += 1
            if in_window:
                entry[4] += 1
        entry[3] += cents
        if in_window:
            entry[5] += cents
    return [
        MemberStatsDelta(member_id, *entry) for member_id, entry in sorted(by_member.items())
    ]


async def on_receipts_booked(uow: UnitOfWork, event: ReceiptsBooked) -> None:
    """Add booked receipts to the members' statistics, in the booking's transaction."""
    window_start = await uow.segments.window_start()
    await uow.segments.add_to_stats(stats_deltas(event, window_start), event.at)


# -- the refresh -------------------------------------------------------------------------------


def window_start_for(policy: SegmentPolicy, now: datetime) -> datetime:
    return now - timedelta(days=policy.window_days)


async def move_window(
    uow: UnitOfWork, policy: Policy, now: datetime, *, rebuild: bool = False
) -> RefreshRecord:
    """Step 1: bring the window figures to the new window start and open this refresh's
    record. The first time (or with `rebuild`: receipts were written around the booking, by
    hand or by an older version) the statistics are built from the receipts."""
    new_start = window_start_for(policy.segments, now)
    old_start = await uow.segments.window_start(moving=True)
    if old_start is None or rebuild:
        await uow.segments.rebuild_stats(new_start, now)
    elif new_start > old_start:
        await uow.segments.slide_window(old_start, new_start, now)
    else:
        new_start = old_start  # the clock went back: never count a receipt twice
    record = RefreshRecord(
        refreshed_at=now,
        window_start=new_start,
        method=policy.segments.method,
        members=0,
        scored=0,
        model="pending",
    )
    refresh_id = await uow.segments.add_refresh(record)
    return replace(record, id=refresh_id)


async def load_stats(uow: UnitOfWork) -> tuple[StatsColumns, dict[int, tuple[str | None, str]]]:
    """Step 2a: every member's statistics and their segment and stage of the last refresh.

    Members who withdrew their consent to profiling are left out, and their old scores are
    removed: they are in no segment, no lifecycle list and no churn list.
    """
    refused = await uow.consents.refused(Purpose.PROFILING)
    stats = without_members(await uow.segments.all_stats(), refused)
    if refused:
        await uow.segments.forget(refused)
    return stats, await uow.segments.previous()


def without_members(stats: StatsColumns, left_out: set[int]) -> StatsColumns:
    """`stats` without the members in `left_out`."""
    if not left_out:
        return stats
    keep = [i for i, member_id in enumerate(stats.member_ids) if member_id not in left_out]
    n = len(stats.member_ids)
    return StatsColumns(  # a column a repository did not fill (empty) stays empty
        **{
            name: [column[i] for i in keep] if len(column) == n else column
            for name, column in vars(stats).items()
        }
    )


async def when_consent_withdrawn(uow: UnitOfWork, event: ConsentWithdrawn) -> None:
    """A member who says no to profiling leaves every segment at once, not at the next refresh."""
    if event.purpose is Purpose.PROFILING:
        await uow.segments.forget([event.member_id])


@dataclass
class RefreshPlan:
    """What a refresh computed, before it is written."""

    record: RefreshRecord
    segments: list[MemberSegment]
    previous: dict[int, tuple[str | None, str]]
    first_refresh: bool
    sizes: list[SegmentSize] = field(default_factory=list)
    moves: list[SegmentMove] = field(default_factory=list)
    events: int = 0


def compute_refresh(
    policy: SegmentPolicy,
    stats: StatsColumns,
    previous: dict[int, tuple[str | None, str]],
    record: RefreshRecord,
    now: datetime,
) -> RefreshPlan:
    """Step 2b: scores, segments, stages and churn figures of every member, in memory."""
    n = len(stats)
    now_s = now.timestamp()
    purchases = np.asarray(stats.purchases, dtype=np.float64)
    bought = purchases > 0
    first = np.array([v if v is not None else now_s for v in stats.first_purchase_at])
    last = np.array([v if v is not None else now_s for v in stats.last_purchase_at])
    since_first = np.maximum(now_s - first, 0.0) / DAY
    since_last = np.maximum(now_s - last, 0.0) / DAY
    span = np.maximum(last - first, 0.0) / DAY
    recency_days = np.floor(since_last).astype(np.int64)
    w_purchases = np.asarray(stats.window_purchases, dtype=np.int64)
    w_spend = np.asarray(stats.window_spend_cents, dtype=np.int64)

    scored = bought & (w_purchases > 0)
    r = np.zeros(n, dtype=np.int64)
    f = np.zeros(n, dtype=np.int64)
    m = np.zeros(n, dtype=np.int64)
    if np.any(scored):
        r[scored], f[scored], m[scored] = rules.rfm_scores(
            policy, recency_days[scored], w_purchases[scored], w_spend[scored]
        )
    grid = rules.segment_grid(policy.segments)
    stages = rules.lifecycle_stages(policy, purchases, since_first, since_last, span)

    # Churn: BG/NBD on the members who bought, in whole days since their first purchase
    # (whole days lose nothing that matters, and members with equal figures are then fitted
    # once with a weight: a chain's million members are a few hundred thousand triples).
    x = np.where(bought, purchases - 1, 0.0)
    t_x = np.round(span)[bought]
    age = np.maximum(np.round(since_first)[bought], t_x)
    fit, note = _fit(policy, x[bought], t_x, age)
    alive = np.full(n, np.nan)
    expected = np.full(n, np.nan)
    if fit is not None and np.any(bought):
        alive[bought] = churn.p_alive(fit, x[bought], t_x, age)
        expected[bought] = churn.expected_purchases(fit, HORIZON_DAYS, x[bought], t_x, age)

    high = scored & (m >= policy.high_value_min_m)
    alive = np.round(alive, 4)
    expected = np.round(expected, 3)
    flags = rules.churn_flags(policy, high, alive, stages, x)
    # The segment of each member as an index into the grid's 36 cells (37: unscored).
    cells = np.where(scored, r * 6 + f, 36)
    cell_keys = [grid[ri][fi] for ri in range(6) for fi in range(6)] + [None]

    # The per-member loop runs on Python lists: indexing numpy arrays one element at a time
    # costs several times more than the rest of the loop together.
    segment_list = [cell_keys[c] for c in cells.tolist()]
    stage_list = [rules.STAGES[k] for k in stages.tolist()]
    alive_list = [None if v != v else v for v in alive.tolist()]  # NaN != NaN
    expected_list = [None if v != v else v for v in expected.tolist()]
    money = rules.money
    segments = [
        MemberSegment(
            member_id,
            days if buyer else None,
            w_buys,
            money(w_cents),
            ri if is_scored else None,
            fi if is_scored else None,
            mi if is_scored else None,
            segment,
            stage,
            p,
            e,
            flag,
            is_high,
            now,
        )
        for member_id, is_scored, ri, fi, mi, buyer, days, w_buys, w_cents, segment, stage, p, e,
        flag, is_high in zip(
            stats.member_ids, scored.tolist(), r.tolist(), f.tolist(), m.tolist(),
            bought.tolist(), recency_days.tolist(), w_purchases.tolist(), w_spend.tolist(),
            segment_list, stage_list, alive_list, expected_list, flags.tolist(), high.tolist(),
            strict=True,
        )
    ]
    done = replace(
        record,
        members=n,
        scored=int(scored.sum()),
        model="bgnbd" if fit is not None else "fallback",
        bg_r=fit.r if fit else None,
        bg_alpha=fit.alpha if fit else None,
        bg_a=fit.a if fit else None,
        bg_b=fit.b if fit else None,
        log_likelihood=fit.log_likelihood if fit else None,
        note=note,
    )
    plan = RefreshPlan(done, segments, previous, first_refresh=not previous)
    plan.sizes = segment_sizes(cells, cell_keys, stages, w_spend, alive)
    plan.moves = segment_moves(
        stats.member_ids, segment_list, [str(rules.STAGES[k]) for k in range(len(rules.STAGES))],
        stages.tolist(), previous,
    )
    return plan


def _fit(
    policy: SegmentPolicy,
    x: NDArray[np.float64],
    t_x: NDArray[np.float64],
    T: NDArray[np.float64],
) -> tuple[churn.BgNbdFit | None, str]:
    """The fitted model, or None and why the lifecycle rules stand in for it."""
    if policy.churn_model != "bgnbd":
        return None, "churn model off (churn_model = \"rules\"): lifecycle rules only"
    repeaters = int(np.count_nonzero(x > 0))
    if repeaters < policy.min_repeat_members:
        return None, (
            f"too little data to fit BG/NBD: {repeaters} members bought more than once, "
            f"{policy.min_repeat_members} needed; lifecycle rules only"
        )
    fit = churn.fit_bgnbd(x, t_x, T)
    if not fit.converged or not all(
        np.isfinite(v) for v in (fit.r, fit.alpha, fit.a, fit.b, fit.log_likelihood)
    ):
        return None, "the BG/NBD fit did not converge; lifecycle rules only"
    return fit, f"BG/NBD fitted on {fit.members} members ({repeaters} repeat buyers)"


def segment_sizes(
    cells: NDArray[np.int64],
    cell_keys: list[str | None],
    stages: NDArray[np.int64],
    cents: NDArray[np.int64],
    p_alive: NDArray[np.float64],
) -> list[SegmentSize]:
    """Members, spend and P(alive) per segment and per lifecycle stage, from each member's
    grid cell (`cell_keys` names each cell's segment), stage index, spend in the window and
    P(alive) (NaN: none): counted by numpy, one bin per cell and per stage."""
    known = ~np.isnan(p_alive)
    alive = np.where(known, p_alive, 0.0)
    totals: dict[tuple[str, str], list[float]] = {}
    for kind, codes, names in (
        ("segment", cells, [key or NONE_KEY for key in cell_keys]),
        ("lifecycle", stages, [str(stage) for stage in rules.STAGES]),
    ):
        bins = len(names)
        members = np.bincount(codes, minlength=bins)
        spend = np.bincount(codes, weights=cents.astype(np.float64), minlength=bins)
        alive_sum = np.bincount(codes, weights=alive, minlength=bins)
        alive_members = np.bincount(codes, weights=known.astype(np.float64), minlength=bins)
        for code in np.flatnonzero(members).tolist():
            t = totals.setdefault((kind, names[code]), [0, 0, 0.0, 0])
            t[0] += int(members[code])
            t[1] += round(float(spend[code]))  # exact: whole cents, far below 2**53
            t[2] += float(alive_sum[code])
            t[3] += round(float(alive_members[code]))
    return [
        SegmentSize(kind, key, int(t[0]), int(t[1]), float(t[2]), int(t[3]))
        for (kind, key), t in sorted(totals.items())
    ]


def segment_moves(
    member_ids: list[int],
    segments: list[str | None],
    stage_names: list[str],
    stages: list[int],
    previous: dict[int, tuple[str | None, str]],
) -> list[SegmentMove]:
    """How many members moved between segments and between stages since the last refresh
    (each member's segment, and stage as an index into `stage_names`)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for member_id, segment, stage in zip(member_ids, segments, stages, strict=True):
        before = previous.get(member_id)
        if before is None:
            continue  # first scored now: a start, not a move
        old_segment, old_stage = before
        if (old_segment or NONE_KEY) != (segment or NONE_KEY):
            counts["segment", old_segment or NONE_KEY, segment or NONE_KEY] += 1
        if old_stage != stage_names[stage]:
            counts["lifecycle", old_stage, stage_names[stage]] += 1
    return [SegmentMove(k, o, n, c) for (k, o, n), c in sorted(counts.items())]


async def write_slice(uow: UnitOfWork, plan: RefreshPlan, start: int, stop: int) -> int:
    """Step 3: write members [start, stop) of the plan and record the events of those whose
    stage or segment changed; returns how many events."""
    await write_rows(uow, plan, start, stop)
    return await record_changes(uow, plan, start, stop)


async def write_rows(uow: UnitOfWork, plan: RefreshPlan, start: int, stop: int) -> None:
    """Write members [start, stop) of the plan."""
    await uow.segments.write(plan.segments[start:stop])


async def record_changes(uow: UnitOfWork, plan: RefreshPlan, start: int, stop: int) -> int:
    """Record the moves of the members [start, stop) whose stage or segment changed, as one
    `MembersMoved` (their `LifecycleChanged` and `SegmentChanged`), so that subscribers handle
    the slice with a few queries instead of several per member; returns how many moves. The
    very first refresh records none: it is where everyone starts, not a move (campaigns would
    otherwise all fire at once)."""
    if plan.first_refresh:
        return 0
    at = plan.record.refreshed_at
    lifecycles: list[LifecycleChanged] = []
    segments: list[SegmentChanged] = []
    for s in plan.segments[start:stop]:
        before = plan.previous.get(s.member_id)
        old_segment, old_stage = before if before is not None else (None, None)
        if before is None or old_stage != s.lifecycle:  # a StrEnum equals its value
            lifecycles.append(
                LifecycleChanged(
                    at=at,
                    member_id=s.member_id,
                    old=Lifecycle(old_stage) if old_stage else None,
                    new=s.lifecycle,
                    high_value=s.high_value,
                    churn_flag=s.churn_flag,
                )
            )
        if (old_segment or None) != s.segment and (before is not None or s.segment):
            segments.append(
                SegmentChanged(at=at, member_id=s.member_id, old=old_segment, new=s.segment)
            )
    recorded = len(lifecycles) + len(segments)
    if recorded:
        await uow.record(MembersMoved(at=at, lifecycles=tuple(lifecycles),
                                      segments=tuple(segments)))
    plan.events += recorded
    return recorded


async def finish_refresh(uow: UnitOfWork, plan: RefreshPlan) -> None:
    """Step 4: the model, the sizes and the moves of this refresh, for `show` and the digest."""
    await uow.segments.complete_refresh(plan.record, plan.sizes, plan.moves)
    log.info(
        "segments refreshed: %d members, %d scored, model %s, %d events",
        plan.record.members,
        plan.record.scored,
        plan.record.model,
        plan.events,
    )


# -- seeing them ---------------------------------------------------------------------------------


async def segments_overview(uow: UnitOfWork, policy: Policy, lang: str = "en") -> Overview | None:
    """Members, share, average spend and P(alive) per segment and per stage after the last
    refresh, with the change since the one before; None before the first refresh."""
    records = await uow.segments.refreshes(2)
    if not records:
        return None
    latest = records[0]
    before = records[1] if len(records) > 1 else None
    assert latest.id is not None
    sizes = await uow.segments.sizes(latest.id)
    earlier = (
        {(s.kind, s.key): s.members for s in await uow.segments.sizes(before.id)}
        if before is not None and before.id is not None
        else None
    )
    total = max(latest.members, 1)

    def row(size: SegmentSize, name: str) -> OverviewRow:
        return OverviewRow(
            key=size.key,
            name=name,
            members=size.members,
            share=size.members / total,
            average_spend=rules.money(size.monetary_cents) / size.members
            if size.members
            else None,
            average_p_alive=size.p_alive_sum / size.p_alive_members
            if size.p_alive_members
            else None,
            change=None
            if earlier is None
            else size.members - earlier.get((size.kind, size.key), 0),
        )

    by_key = {(s.kind, s.key): s for s in sizes}
    segment_rows = [
        row(by_key["segment", named.key], named.name(lang))
        for named in policy.segments.segments
        if ("segment", named.key) in by_key
    ]
    segment_rows += [
        row(s, s.key or ("no purchase in the window" if lang == "en" else "窗口期内未购买"))
        for s in sizes
        if s.kind == "segment" and policy.segments.segment(s.key) is None
    ]
    stage_rows = [
        row(by_key["lifecycle", stage.value], policy.segments.lifecycle_name(stage.value, lang))
        for stage in rules.STAGES
        if ("lifecycle", stage.value) in by_key
    ]
    return Overview(latest, before, segment_rows, stage_rows)


# -- the weekly digest ---------------------------------------------------------------------------


def digest_key(week_start: datetime) -> str:
    return f"segments:digest:{week_start.date().isoformat()}"


async def queue_weekly_digest(
    uow: UnitOfWork, policy: Policy, staff_chat_id: str | None, now: datetime
) -> str:
    """Queue last seven days' segment moves (the largest first) for the staff group, once per
    week; returns what it did."""
    if not staff_chat_id:
        return "no staff chat (STAFF_CHAT_ID): nothing to post"
    since = now - timedelta(days=7)
    key = digest_key(since.replace(hour=0, minute=0, second=0, microsecond=0))
    if await uow.outbox.get_by_dedupe_key(key) is not None:
        return "this week's segment digest was queued before"
    totals: Counter[tuple[str, str]] = Counter()
    for move in await uow.segments.moves_since(since):
        if move.kind == "segment":
            totals[move.old, move.new] += move.members
    latest = await uow.segments.last_refresh()
    top = totals.most_common(DIGEST_TOP)
    lines = {
        lang: "\n".join(
            f"• {policy.segments.segment_name(old or None, lang) or '—'} → "
            f"{policy.segments.segment_name(new or None, lang) or '—'}: {count:,}"
            for (old, new), count in top
        )
        for lang in ("en", "zh")
    }
    await queue_message(
        uow,
        OutboxMessage(
            dedupe_key=key,
            chat_id=staff_chat_id,
            kind=MessageKind.SERVICE,
            message_key="segments.digest" if top else "segments.digest_quiet",
            params={
                "since": since.date().isoformat(),
                "moves": sum(totals.values()),
                "lines": lines,
                "members": latest.members if latest else 0,
                "model": latest.model if latest else "—",
            },
        ),
        now,
    )
    return f"queued the segment digest ({sum(totals.values())} moves)"
