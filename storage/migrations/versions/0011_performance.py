"""performance: a maintained points balance and expiry summary per member

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

Reserved in the history so the features built in parallel keep one line of migrations; the
feature fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
