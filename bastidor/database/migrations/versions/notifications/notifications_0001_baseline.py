"""The log of notifications already sent, as it was before schema versions: created when missing.

Revision ID: notifications_0001
Revises: nothing (the base revision)
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa

from bastidor.database.migrations.adopt import ensure_table

revision = "notifications_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the sent-notifications table when missing."""
    ensure_table(
        "sent_notifications",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    """Drop the sent-notifications table."""
    op.drop_table("sent_notifications")
