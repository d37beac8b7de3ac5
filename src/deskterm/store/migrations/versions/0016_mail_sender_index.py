"""mail_in: an index on the sender, with the time taken (issue 16)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

Every message taken asks how many messages its sender sent within the flood window: without this index that
read every row of mail_in, so taking a Maildir of 10,000 messages slowed down as it went.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mail_in_sender", "mail_in", ["from_addr", "taken_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_in_sender", table_name="mail_in")
