"""PostgreSQL: the tickets' weighted tsvector stored (a generated column) under the GIN index of triage

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

0011 indexed an expression: the index found the tickets holding a word, but ``ts_rank`` then computed the vector
of every one of them again from its text (772 ms p95 for a suggestion at 30,000 tickets). A stored generated
column keeps the vector beside the row (current by construction, as the expression was: PostgreSQL computes it on
every insert and update of the subject or description), and the GIN index is now on that column. SQLite: nothing
(its FTS5 table of 0011 holds what bm25 ranks by).
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

N = 20000  # search.INDEXED_CHARS
VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, subject), 'A') || "
    f"setweight(to_tsvector('simple'::regconfig, left(description, {N})), 'B'))"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(f"ALTER TABLE tickets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) STORED")
    op.execute("DROP INDEX IF EXISTS ix_tickets_search")
    op.execute("CREATE INDEX ix_tickets_search ON tickets USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS ix_tickets_search")
    op.execute("ALTER TABLE tickets DROP COLUMN search_vector")
    op.execute(f"CREATE INDEX ix_tickets_search ON tickets USING gin ({VECTOR})")
