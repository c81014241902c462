"""The work queue's tables (run requests, work items, their histories, schedule pauses) as they were
before schema versions: created where missing; a queue file from an older Bastidor gets the columns and
indexes it lacks (`run_requests.queue_name` and `idle_resumes`, `ix_run_requests_queue`, `ix_work_items_run`).

Revision ID: queue_0001
Revises: nothing (the base revision)
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from bastidor.database.migrations.adopt import ensure_index, ensure_table

revision = "queue_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the queue's tables and indexes where missing."""
    _run_requests()
    _work_items()
    _events("run_request_events", "request_id", "run_requests.id", "ix_run_request_events_request")
    _events("work_item_events", "item_id", "work_items.id", "ix_work_item_events_item")
    ensure_table(
        "schedule_pauses",
        sa.Column("schedule_id", sa.String(length=200), nullable=False),
        sa.Column("paused_by", sa.String(length=255), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("schedule_id"),
    )


def downgrade() -> None:
    """Drop the queue's tables (and everything in them)."""
    for table in ("schedule_pauses", "work_item_events", "run_request_events", "work_items", "run_requests"):
        op.drop_table(table)


def _run_requests() -> None:
    ensure_table(
        "run_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("flow_path", sa.Text(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schedule_id", sa.String(length=200), nullable=True),
        sa.Column("fire_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("queue_name", sa.String(length=200), nullable=True),
        sa.Column("idle_resumes", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    ensure_index("ix_run_requests_claim", "run_requests", ["state", sa.literal_column("priority DESC"), "enqueued_at"])
    ensure_index("ix_run_requests_lease", "run_requests", ["state", "lease_expires"])
    ensure_index("ix_run_requests_schedule", "run_requests", ["schedule_id", "state"])
    ensure_index("ix_run_requests_fire_time", "run_requests", ["schedule_id", "fire_time"])
    ensure_index("ix_run_requests_queue", "run_requests", ["queue_name", "state"])


def _work_items() -> None:
    ensure_table(
        "work_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("queue_name", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exception_kind", sa.String(length=20), nullable=True),
        sa.Column("defer_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("queue_name", "reference", name="uq_work_items_queue_reference"),
    )
    ensure_index("ix_work_items_claim", "work_items",
                 ["queue_name", "state", sa.literal_column("priority DESC"), "created_at"])
    ensure_index("ix_work_items_lease", "work_items", ["state", "lease_expires"])
    ensure_index("ix_work_items_deadline", "work_items", ["state", "deadline"])
    ensure_index("ix_work_items_run", "work_items", ["run_id"])


def _events(table: str, owner_column: str, owner: str, index: str) -> None:
    """A history table: one row per state change of a run request or a work item."""
    ensure_table(
        table,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(owner_column, sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint([owner_column], [owner], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    ensure_index(index, table, [owner_column, "id"])
