"""presence: which app's agent has which ticket open (PostgreSQL; SQLite keeps it in a file of its own)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Heartbeats land here every few seconds from every running app (store/presence.py), outside the write path
that notifies the other apps of ticket changes. ``seen_at`` is seconds since the epoch (the app's wall clock).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presence",
        sa.Column("app", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("activity", sa.String(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("app"),
    )


def downgrade() -> None:
    op.drop_table("presence")
