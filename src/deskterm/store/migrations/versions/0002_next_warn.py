"""tickets.next_warn: when the nearest timer enters its warning, for the "breaching soon" view

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Also the ``meta`` table. Existing rows get NULL next_warn and no stored configuration fingerprint, so
the first Desk.rederive() after the upgrade recomputes every open ticket's deadlines.
"""

import sqlalchemy as sa
from alembic import op

from deskterm.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_warn", UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_next_warn"), ["next_warn"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_next_warn"))
        batch_op.drop_column("next_warn")
    op.drop_table("meta")
