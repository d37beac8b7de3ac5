"""The queue's search in the store: each ticket's folded subject and ref (``ticket_search``) under a trigram index

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01

The queue's free words were matched in the app's memory, against a folded text per open ticket loaded at start
(82 MB at a million tickets, and a scan of all of them for a search's first character). ``ticket_search`` holds
that text (``domain.text.search_text``: subject and ref, folded, as the search compares them; the customer's name
is matched apart, from the customers) beside each ticket, filled here for the tickets already on the desk, then
written by the service and the importer. Its index finds the tickets holding a word of three characters or more:
SQLite: an FTS5 table with the trigram tokenizer over it (external content, exact case), kept by triggers;
PostgreSQL: a GIN index of ``pg_trgm`` (the extension is created when it is not there; a server without it
leaves the table unindexed: the search then scans it). See store/queue_search.py.
"""

import sqlalchemy as sa
from alembic import op

from deskterm.domain.text import search_text

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

PAGE = 20000


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "ticket_search",
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), primary_key=True, autoincrement=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    read = sa.text("SELECT id, subject, ref FROM tickets WHERE id > :after ORDER BY id LIMIT :n")
    write = sa.text("INSERT INTO ticket_search (ticket_id, text) VALUES (:i, :t)")
    after = 0
    while rows := bind.execute(read, {"after": after, "n": PAGE}).all():
        bind.execute(write, [{"i": i, "t": search_text(subject, ref)} for i, subject, ref in rows])
        after = rows[-1][0]
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE ticket_trigram USING fts5(text, content='ticket_search', content_rowid='ticket_id',"
            " tokenize='trigram case_sensitive 1')"
        )
        op.execute("INSERT INTO ticket_trigram(ticket_trigram) VALUES ('rebuild')")
        op.execute(
            "CREATE TRIGGER ticket_trigram_ai AFTER INSERT ON ticket_search BEGIN"
            " INSERT INTO ticket_trigram(rowid, text) VALUES (new.ticket_id, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER ticket_trigram_ad AFTER DELETE ON ticket_search BEGIN"
            " INSERT INTO ticket_trigram(ticket_trigram, rowid, text) VALUES ('delete', old.ticket_id, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER ticket_trigram_au AFTER UPDATE ON ticket_search BEGIN"
            " INSERT INTO ticket_trigram(ticket_trigram, rowid, text) VALUES ('delete', old.ticket_id, old.text);"
            " INSERT INTO ticket_trigram(rowid, text) VALUES (new.ticket_id, new.text); END"
        )
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        return  # not installed on the server, or not ours to create: the search scans the table
    op.execute("CREATE INDEX ix_ticket_search_trgm ON ticket_search USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ticket_trigram_ai", "ticket_trigram_ad", "ticket_trigram_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_trigram")
    op.drop_table("ticket_search")
