"""The shared SQLAlchemy metadata: every feature's tables (storage/<feature>/tables.py) register
on it, and Alembic compares the database with it."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from sqlalchemy import MetaData

# Constraint names are fixed so migrations can refer to them on every database.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def register_all_tables() -> MetaData:
    """Import every feature's tables module, so `metadata` knows the whole schema."""
    root = Path(__file__).parent
    for info in pkgutil.iter_modules([str(root)]):
        if info.ispkg and (root / info.name / "tables.py").exists():
            importlib.import_module(f"storage.{info.name}.tables")
    return metadata
