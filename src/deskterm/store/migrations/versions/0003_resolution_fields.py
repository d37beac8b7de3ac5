"""tickets: classification, resolution code, first-contact flag, major incident link, CSAT

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("classification", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("resolution_code", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("first_contact", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("major_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("csat_score", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("csat_comment", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_major_id"), ["major_id"], unique=False)
        batch_op.create_foreign_key("fk_tickets_major_id", "tickets", ["major_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tickets_major_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tickets_major_id"))
        for column in ("csat_comment", "csat_score", "major_id", "first_contact", "resolution_code", "classification"):
            batch_op.drop_column(column)
