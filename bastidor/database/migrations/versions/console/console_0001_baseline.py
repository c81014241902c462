"""The console's tables (users, sessions, the exception workflow, flow versions) as they were before schema
versions: created where missing; a console file from an older Bastidor is adopted as it is.

Revision ID: console_0001
Revises: nothing (the base revision)
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from bastidor.database.migrations.adopt import ensure_index, ensure_table

revision = "console_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the console's tables and indexes where missing."""
    _users_and_sessions()
    _exceptions()
    ensure_table(
        "console_flow_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow_path", sa.String(length=500), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flow_path", "number", name="one_version_per_number"),
    )


def downgrade() -> None:
    """Drop the console's tables (and everything in them)."""
    for table in ("console_flow_versions", "exception_events", "exception_cases", "console_sessions",
                  "console_users"):
        op.drop_table(table)


def _users_and_sessions() -> None:
    ensure_table(
        "console_users",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    ensure_table(
        "console_sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    ensure_index("ix_console_sessions_user_name", "console_sessions", ["user_name"])


def _exceptions() -> None:
    ensure_table(
        "exception_cases",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("item_ref", sa.String(length=255), nullable=False),
        sa.Column("flow_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "item_ref"),
    )
    ensure_index("ix_exception_cases_state_failed_at", "exception_cases", ["state", "failed_at"])
    ensure_index("ix_exception_cases_flow_name", "exception_cases", ["flow_name"])
    ensure_index("ix_exception_cases_assignee", "exception_cases", ["assignee"])
    ensure_table(
        "exception_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("item_ref", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    ensure_index("ix_exception_events_case", "exception_events", ["run_id", "item_ref", "id"])
