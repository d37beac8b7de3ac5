"""tickets.next_timer and tickets.next_left: the countdown a queue row shows, from the ticket row alone

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

Existing rows get NULL in both; the stored configuration fingerprint is dropped, so the first
Desk.rederive() after the upgrade (every command, and the app as it opens) derives them for every open
ticket, as it did for next_warn.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_timer", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("next_left", sa.Integer(), nullable=True))
    op.execute("DELETE FROM meta WHERE key = 'sla_config'")


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("next_left")
        batch_op.drop_column("next_timer")
