"""problems: root cause, known error, workaround; linked incidents; corrective actions

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

A ticket of type ``problem`` gets a record (root cause, known error and its workaround); incidents are linked to
one problem each (many to one); corrective actions belong to a problem (owner, due day, state).
"""

import sqlalchemy as sa
from alembic import op

from deskterm.store.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("known_error", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("workaround", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_table(
        "problem_links",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("linked_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.ForeignKeyConstraint(["problem_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_problem_links_problem_id", "problem_links", ["problem_id"])
    op.create_table(
        "problem_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("state", sa.String(), nullable=False, server_default="open"),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["problem_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_problem_actions_problem_id", "problem_actions", ["problem_id"])


def downgrade() -> None:
    op.drop_index("ix_problem_actions_problem_id", table_name="problem_actions")
    op.drop_table("problem_actions")
    op.drop_index("ix_problem_links_problem_id", table_name="problem_links")
    op.drop_table("problem_links")
    op.drop_table("problems")
