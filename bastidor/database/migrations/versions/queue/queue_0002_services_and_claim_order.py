"""Add the services table (each `serve` and its bots, for the Bots page) and end both claim indexes with the
row id, so a claim's whole ORDER BY is read from the index instead of sorting every waiting row.

Revision ID: queue_0002
Revises: queue_0001
Create Date: 2026-12-03 14:45:11.518694
"""

from alembic import op
import sqlalchemy as sa

from bastidor.database.migrations.adopt import ensure_table

revision = 'queue_0002'
down_revision = 'queue_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `services`; rebuild the two claim indexes with `id` last."""
    ensure_table('services',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('machine', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=50), nullable=False),
    sa.Column('home', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_s', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('holds_scheduler', sa.Boolean(), nullable=False),
    sa.Column('workers', sa.JSON(), nullable=False),
    sa.Column('retired_workers', sa.JSON(), nullable=False),
    sa.Column('fault', sa.Text(), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('run_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_requests_claim'))
        batch_op.create_index('ix_run_requests_claim', ['state', sa.literal_column('priority DESC'), 'enqueued_at', 'id'], unique=False)

    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_items_claim'))
        batch_op.create_index('ix_work_items_claim', ['queue_name', 'state', sa.literal_column('priority DESC'), 'created_at', 'id'], unique=False)



def downgrade() -> None:
    """Undo `upgrade`."""
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index('ix_work_items_claim')
        batch_op.create_index(batch_op.f('ix_work_items_claim'), ['queue_name', 'state', sa.literal_column('priority DESC'), 'created_at'], unique=False)

    with op.batch_alter_table('run_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_run_requests_claim')
        batch_op.create_index(batch_op.f('ix_run_requests_claim'), ['state', sa.literal_column('priority DESC'), 'enqueued_at'], unique=False)

    op.drop_table('services')
