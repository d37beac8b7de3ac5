"""customers and contacts as records: the customer's folded name, policy, VIP flag, notes and e-mail domains;
contacts; a ticket's contact

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

``customers.name_key`` is the name folded (case and accents, ``queue_terms.fold``) and unique: the names already
on the desk are folded here; two names that fold alike (an old desk's "ACME" and "Acme", which were two
customers) keep their rows and tickets, the later one's key suffixed with its id so that both stay reachable
by their exact name.
"""

import sqlalchemy as sa
from alembic import op

from deskterm.domain.text import fold

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("policy", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("vip", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    conn = op.get_bind()
    taken: set[str] = set()
    for cid, name in conn.execute(sa.text("SELECT id, name FROM customers ORDER BY id")).all():
        key = fold(" ".join(name.split()))
        if key in taken:
            key = f"{key}#{cid}"
        taken.add(key)
        conn.execute(sa.text("UPDATE customers SET name_key = :k WHERE id = :i"), {"k": key, "i": cid})
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.Text(), nullable=False)
        batch_op.create_unique_constraint("uq_customers_name_key", ["name_key"])
    op.create_table(
        "customer_domains",
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("domain"),
    )
    op.create_index(op.f("ix_customer_domains_customer_id"), "customer_domains", ["customer_id"], unique=False)
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("email_key", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_key"),
    )
    op.create_index(op.f("ix_contacts_customer_id"), "contacts", ["customer_id"], unique=False)
    if conn.dialect.name == "sqlite":
        # SQLite adds a column with its reference in place: a batch would copy the table, and the copy loses the
        # triggers that keep the full-text index (0011) current
        op.execute("ALTER TABLE tickets ADD COLUMN contact_id INTEGER REFERENCES contacts (id)")
        op.create_index(op.f("ix_tickets_contact_id"), "tickets", ["contact_id"], unique=False)
    else:
        with op.batch_alter_table("tickets", schema=None) as batch_op:
            batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key("fk_tickets_contact_id", "contacts", ["contact_id"], ["id"])
            batch_op.create_index(batch_op.f("ix_tickets_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(op.f("ix_tickets_contact_id"), table_name="tickets")
        op.execute("ALTER TABLE tickets DROP COLUMN contact_id")
    else:
        with op.batch_alter_table("tickets", schema=None) as batch_op:
            batch_op.drop_index(batch_op.f("ix_tickets_contact_id"))
            batch_op.drop_constraint("fk_tickets_contact_id", type_="foreignkey")
            batch_op.drop_column("contact_id")
    op.drop_index(op.f("ix_contacts_customer_id"), table_name="contacts")
    op.drop_table("contacts")
    op.drop_index(op.f("ix_customer_domains_customer_id"), table_name="customer_domains")
    op.drop_table("customer_domains")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_customers_name_key", type_="unique")
        batch_op.drop_column("notes")
        batch_op.drop_column("vip")
        batch_op.drop_column("policy")
        batch_op.drop_column("name_key")
