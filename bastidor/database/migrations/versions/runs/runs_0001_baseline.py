"""The run store's tables (runs, their items and steps) as they were before schema versions: created where
missing; a run store from an older Bastidor gets the columns and indexes it lacks (`items.exception`,
`runs.pid`, `steps.error_detail`, the console's item indexes).

Revision ID: runs_0001
Revises: nothing (the base revision)
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from bastidor.database.migrations.adopt import ensure_index, ensure_table

revision = "runs_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the run store's tables and indexes where missing."""
    _runs()
    _items()
    _steps()


def downgrade() -> None:
    """Drop the run store's tables (and everything in them)."""
    for table in ("steps", "items", "runs"):
        op.drop_table(table)


def _runs() -> None:
    ensure_table(
        "runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("flow_name", sa.String(length=200), nullable=False),
        sa.Column("flow_path", sa.Text(), nullable=False),
        sa.Column("flow_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("audit_path", sa.Text(), nullable=True),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("items_succeeded", sa.Integer(), nullable=False),
        sa.Column("items_failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("user", sa.String(length=255), nullable=True),
        sa.Column("audit_last_hash", sa.String(length=64), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
    )
    ensure_index("ix_runs_started_at", "runs", ["started_at"])
    ensure_index("ix_runs_flow_name_started_at", "runs", ["flow_name", "started_at"])


def _items() -> None:
    ensure_table(
        "items",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("item_ref", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("exception", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "item_ref"),
    )
    ensure_index("ix_items_run_id_started_at", "items", ["run_id", "started_at"])
    ensure_index("ix_items_started_at", "items", ["started_at"])
    ensure_index("ix_items_item_ref", "items", ["item_ref"])
    ensure_index("ix_items_exception_status", "items", ["exception", "status"])


def _steps() -> None:
    ensure_table(
        "steps",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("parent_path", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("item_ref", sa.String(length=255), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("screenshot", sa.Text(), nullable=True),
        sa.Column("screenshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("line", sa.Text(), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    ensure_index("ix_steps_run_id_item_ref", "steps", ["run_id", "item_ref"])
