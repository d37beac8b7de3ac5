"""contracts, time_entries and change_requests (the service manager's month)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

A customer's contracts (dates in force, policy, included hours a month, billable rate in cents, scope); the
time agents log on tickets (one row per entry, also written in the ticket's history); and the estimate and
approval state of tickets classified as change requests.
"""

import sqlalchemy as sa
from alembic import op

from deskterm.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("renews", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.Column("included_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rate_cents", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("scope", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "name", name="uq_contracts_customer_name"),
    )
    op.create_index("ix_contracts_customer_id", "contracts", ["customer_id"])
    op.create_table(
        "time_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_time_entries_ticket_id", "time_entries", ["ticket_id"])
    op.create_index("ix_time_entries_at", "time_entries", ["at"])
    op.create_table(
        "change_requests",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("estimate_seconds", sa.Integer(), nullable=True),
        sa.Column("approval", sa.String(), nullable=True),
        sa.Column("approval_by", sa.String(), nullable=True),
        sa.Column("approval_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("change_requests")
    op.drop_index("ix_time_entries_at", table_name="time_entries")
    op.drop_index("ix_time_entries_ticket_id", table_name="time_entries")
    op.drop_table("time_entries")
    op.drop_index("ix_contracts_customer_id", table_name="contracts")
    op.drop_table("contracts")
