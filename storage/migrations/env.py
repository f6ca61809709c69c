"""Alembic environment: runs on the connection handed over by storage.migrate."""

from __future__ import annotations

from alembic import context

from storage.metadata import metadata, register_all_tables

register_all_tables()  # every storage/<feature>/tables.py, so autogenerate sees the whole schema

# APScheduler creates and owns its job table; autogenerate must neither add nor drop it.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'retailbot init' (storage.migrate.upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
