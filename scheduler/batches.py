"""How jobs work in batches: one short transaction per piece, committed by the job, never by
the use case.

Domain use cases take a unit of work and never commit (DESIGN.md); a job that touches many
rows calls them piece by piece through these helpers, so a long run holds no lock for long,
its memory stays bounded, and what was committed before a crash is not redone (every piece is
idempotent: dedupe keys, conditional updates).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")
Item = TypeVar("Item")

MAX_ROUNDS = 100_000  # a step that always says "more" is a bug, not a long job


async def in_transaction(
    uow_factory: UnitOfWorkFactory, step: Callable[[UnitOfWork], Awaitable[T]]
) -> T:
    """Run `step` in one transaction and commit it."""
    async with uow_factory() as uow:
        result = await step(uow)
        await uow.commit()
    return result


async def in_batches(
    uow_factory: UnitOfWorkFactory,
    items: Sequence[Item],
    size: int,
    step: Callable[[UnitOfWork, Sequence[Item]], Awaitable[object]],
) -> int:
    """Run `step` on `items` `size` at a time, each slice in its own committed transaction;
    return how many transactions it took."""
    rounds = 0
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        await in_transaction(uow_factory, lambda uow, chunk=chunk: step(uow, chunk))
        rounds += 1
    return rounds


async def until_done(
    uow_factory: UnitOfWorkFactory, step: Callable[[UnitOfWork], Awaitable[bool]]
) -> int:
    """Run `step` in fresh committed transactions while it says there is more to do; return how
    many transactions it took."""
    for rounds in range(1, MAX_ROUNDS + 1):
        if not await in_transaction(uow_factory, step):
            return rounds
    raise RuntimeError(f"a batch job did not finish in {MAX_ROUNDS} transactions")
