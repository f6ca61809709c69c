"""Alembic migrations: the history of the schema in storage/tables.py."""
