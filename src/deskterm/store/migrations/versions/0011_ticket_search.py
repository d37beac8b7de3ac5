"""the full-text index of the tickets (subject, description) that triage finds similar tickets with

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

SQLite: an FTS5 table over ``tickets`` (external content) kept current by three triggers, filled here with the
tickets already on the desk. PostgreSQL: a GIN index on the tickets' weighted ``tsvector`` (current by
construction). See store/search.py, which queries them with the same expressions.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

N = 20000  # search.INDEXED_CHARS: the characters of a description that are indexed
VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, subject), 'A') || "
    f"setweight(to_tsvector('simple'::regconfig, left(description, {N})), 'B'))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE ticket_fts USING fts5(subject, description, content='tickets',"
            " content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        row = f"new.id, new.subject, substr(new.description, 1, {N})"
        old = f"'delete', old.id, old.subject, substr(old.description, 1, {N})"
        op.execute(
            "CREATE TRIGGER ticket_fts_ai AFTER INSERT ON tickets BEGIN"
            f" INSERT INTO ticket_fts(rowid, subject, description) VALUES ({row}); END"
        )
        op.execute(
            "CREATE TRIGGER ticket_fts_ad AFTER DELETE ON tickets BEGIN"
            f" INSERT INTO ticket_fts(ticket_fts, rowid, subject, description) VALUES ({old}); END"
        )
        op.execute(
            "CREATE TRIGGER ticket_fts_au AFTER UPDATE OF subject, description ON tickets BEGIN"
            f" INSERT INTO ticket_fts(ticket_fts, rowid, subject, description) VALUES ({old});"
            f" INSERT INTO ticket_fts(rowid, subject, description) VALUES ({row}); END"
        )
        op.execute(
            f"INSERT INTO ticket_fts(rowid, subject, description) SELECT id, subject, substr(description, 1, {N})"
            " FROM tickets"
        )
    else:
        op.execute(f"CREATE INDEX ix_tickets_search ON tickets USING gin ({VECTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ticket_fts_ai", "ticket_fts_ad", "ticket_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_tickets_search")
