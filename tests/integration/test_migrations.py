"""Alembic's history builds exactly the schema the code describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect

from storage.engine import create_engine
from storage.metadata import register_all_tables
from storage.migrate import is_current, upgrade

# Tables other software owns in our database (APScheduler's job store).
FOREIGN_TABLES = {"apscheduler_jobs"}


def _all_tables() -> MetaData:
    """The shared metadata with every storage/<feature>/tables.py loaded, new ones included."""
    return register_all_tables()


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": _include_name}
    )
    return list(compare_metadata(context, _all_tables()))


async def test_upgrading_an_empty_database_gives_the_schema_of_the_code(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences)
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert differences == []
        assert {"members", "receipts", "points_ledger", "stores"} <= tables
        assert await is_current(engine)
        await upgrade(engine)  # a second run is harmless
        assert await is_current(engine)
    finally:
        await engine.dispose()
