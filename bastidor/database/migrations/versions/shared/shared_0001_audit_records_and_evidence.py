"""The shared database's copy of every run's audit log (`audit_records`, one row per line, the line's exact
bytes) and its evidence (`artifacts`: screenshots, downloads, receipts), both append-only: a trigger refuses
UPDATE, DELETE and TRUNCATE. Only in a shared PostgreSQL database (this component has no SQLite file).

Revision ID: shared_0001
Revises: nothing (the base revision)
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from bastidor.database.migrations.adopt import ensure_table

revision = "shared_0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION bastidor_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the table % is append-only: % is refused (audit records and evidence are never changed or '
                  'removed)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
TRIGGERS = {
    "{table}_append_only": "BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW",
    "{table}_no_truncate": "BEFORE TRUNCATE ON {table} FOR EACH STATEMENT",
}


def upgrade() -> None:
    """Create both tables where missing, then their append-only triggers (PostgreSQL)."""
    ensure_table(
        "artifacts",
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "name"),
    )
    ensure_table(
        "audit_records",
        sa.Column("log_id", sa.String(length=200), nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("line", sa.LargeBinary(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=100), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("log_id", "line_no"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        for table in ("artifacts", "audit_records"):
            for name, when in TRIGGERS.items():
                trigger = name.format(table=table)
                op.execute(
                    f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{trigger}' AND tgrelid = "
                    f"'{table}'::regclass) THEN CREATE TRIGGER {trigger} {when.format(table=table)} EXECUTE "
                    "FUNCTION bastidor_append_only(); END IF; END $$")


def downgrade() -> None:
    """Drop both tables (and everything in them) and the trigger function."""
    op.drop_table("audit_records")
    op.drop_table("artifacts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS bastidor_append_only()")
