"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision or "nothing (the base revision)"}
Create Date: ${create_date}
"""

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    """${message}"""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Undo `upgrade`."""
    ${downgrades if downgrades else "pass"}
