"""alerts: one row per firing of a Prometheus Alertmanager alert, unique by fingerprint and start (issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

``deskterm intake alertmanager`` records each alert it takes here, in the transaction that opens its ticket (or adds
to one): the unique (fingerprint, starts_at) makes a repeated notification change nothing, even when two listeners
take it at once.
"""

import sqlalchemy as sa
from alembic import op

from deskterm.store.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint", "starts_at", name="uq_alerts_firing"),
    )
    op.create_index("ix_alerts_fingerprint", "alerts", ["fingerprint"])
    op.create_index("ix_alerts_group_key", "alerts", ["group_key"])
    op.create_index("ix_alerts_ticket_id", "alerts", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_ticket_id", table_name="alerts")
    op.drop_index("ix_alerts_group_key", table_name="alerts")
    op.drop_index("ix_alerts_fingerprint", table_name="alerts")
    op.drop_table("alerts")
