"""ticket_changes: the feed of which tickets each write changed, read by the running apps (issue 17)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

Every write transaction that changes tickets appends their ids (a NULL id: any ticket may have changed); every
running app reads the rows after the last one it saw, and touches only those tickets' rows and counts instead
of reading its whole view again. The writers keep only the newest rows (store/engine.py ``FEED_KEEP``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_changes",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )


def downgrade() -> None:
    op.drop_table("ticket_changes")
