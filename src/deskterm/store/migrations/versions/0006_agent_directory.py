"""agents.wrote and agents.on_shift_since: the directory of agents and their shift

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

``wrote``: the name is an OS user who has changed the desk (or an agent of imported history), so it is a known
agent; until now every name typed as an assignee was registered too, typos included. Existing rows are kept
as agents when some event bears their name as its author. ``on_shift_since``: when the agent's shift began
(NULL: off shift).
"""

import sqlalchemy as sa
from alembic import op

from deskterm.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wrote", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("on_shift_since", UTCDateTime(), nullable=True))
    op.execute("UPDATE agents SET wrote = true WHERE name IN (SELECT DISTINCT author FROM events)")


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("on_shift_since")
        batch_op.drop_column("wrote")
