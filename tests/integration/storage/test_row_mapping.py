"""storage.common.RowMapping reading rows back, on SQLite and PostgreSQL: `entities` (one way of
reading worked out per result) gives what `entity` gives row by row, every conversion included
(cents, enums, JSON tuples, lists and dicts, 0/1 flags, NULLs), for all the columns or some."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.common import RowMapping
from storage.engine import create_engine


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Thing:
    name: str
    price: Decimal | None = None
    colour: Colour | None = None
    tags: tuple[str, ...] = ()
    items: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    flag: bool = False
    derived: int = 7  # no column: left to its default
    id: int | None = None


metadata = MetaData()
things = Table(
    "row_mapping_things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False),
    Column("price_cents", Integer),
    Column("colour", String(8)),
    Column("tags", JSON),
    Column("items", JSON),
    Column("extra", JSON),
    Column("flag", Integer, nullable=False),  # 0/1, as some databases hand flags back
)
THINGS = RowMapping(
    Thing, things, cents=("price",), enums={"colour": Colour}, tuples=("tags",),
    lists=("items",), dicts=("extra",), bools=("flag",),
)
STORED = [
    Thing("full", Decimal("12.34"), Colour.BLUE, ("a", "b"), [1, 2], {"k": [1]}, True),
    Thing("empty"),
]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(things), [
            {**THINGS.values(thing), "flag": int(thing.flag)} for thing in STORED
        ])
        # Nulls where the mapping writes values: what an older row or another writer leaves.
        await conn.execute(insert(things).values(
            name="nulls", price_cents=None, colour=None, tags=None, items=None, extra=None, flag=0
        ))
    yield engine
    await engine.dispose()


async def _read(engine: AsyncEngine, *columns: Any) -> tuple[list[Thing], list[Thing]]:
    statement = select(*columns).order_by(things.c.id)
    async with engine.connect() as conn:
        one_by_one = [THINGS.entity(row) for row in await conn.execute(statement)]
        together = THINGS.entities(await conn.execute(statement))
    return one_by_one, together


async def test_a_result_read_at_once_gives_what_each_row_gives(engine: AsyncEngine) -> None:
    one_by_one, together = await _read(engine, things)
    assert together == one_by_one
    assert [replace(thing, id=None) for thing in together] == [*STORED, Thing("nulls")]
    assert all(thing.id is not None for thing in together)
    full = together[0]
    assert type(full.price) is Decimal and type(full.tags) is tuple
    assert type(full.flag) is bool and full.colour is Colour.BLUE
    assert together[1].extra == {} and together[1].items == [] and together[1].tags == ()


async def test_some_columns_give_those_fields_and_leave_the_rest_to_their_defaults(
    engine: AsyncEngine,
) -> None:
    one_by_one, together = await _read(engine, things.c.name, things.c.price_cents)
    assert together == one_by_one == [
        Thing("full", Decimal("12.34")), Thing("empty"), Thing("nulls"),
    ]
    # A label reads as the column it names; another set of columns, another way of reading.
    _, flags = await _read(engine, things.c.flag, things.c.name.label("name"))
    assert [(thing.name, thing.flag) for thing in flags] == [
        ("full", True), ("empty", False), ("nulls", False),
    ]


async def test_no_rows_give_no_entities(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        rows = await conn.execute(select(things).where(things.c.name == "none"))
        assert THINGS.entities(rows) == []
