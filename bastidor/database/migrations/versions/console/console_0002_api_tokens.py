"""Add the api_tokens table: the REST API's tokens (name, role, SHA-256 of the token, when made and last used).

Revision ID: console_0002
Revises: console_0001
Create Date: 2026-12-03 17:04:31.946891
"""

import sqlalchemy as sa
from alembic import op

from bastidor.database.migrations.adopt import ensure_table

revision = 'console_0002'
down_revision = 'console_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `api_tokens` (see `bastidor.console.tokens`) where missing."""
    ensure_table(
        'api_tokens',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=255), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
        sa.UniqueConstraint('token_hash'),
    )


def downgrade() -> None:
    """Undo `upgrade`."""
    op.drop_table('api_tokens')
