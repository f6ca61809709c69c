"""segment rows in place: room on member_segments' pages for the nightly refresh's new versions

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

The nightly refresh rewrites every member's row of member_segments. On full pages each new
version goes to another page, and every index of the table (the key, segment, lifecycle) gets
an entry for it. With pages half filled, a row whose segment and lifecycle stay the same (most
of them, most nights) is updated on its own page and no index is touched (PostgreSQL's
heap-only update); the versions of the night before are pruned as the page is next used.
PostgreSQL only: SQLite has no such setting. Pages written before this take the setting as
they are rewritten.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FILLFACTOR = 50  # as storage/segments/tables.py says


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE member_segments SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE member_segments RESET (fillfactor)")
