"""What base revisions use to adopt tables made before schema versions existed.

A database made by an older Bastidor already has some of a component's tables, perhaps without the
columns and indexes added later (all nullable columns). A base revision creates each table that is missing
and, for one that is there, adds only the columns it lacks; indexes are created unless present. On a new
database that is plain creation.

Base revisions rely on these functions doing exactly this: never change what they do; add new ones.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


def ensure_table(name: str, *elements: Any) -> None:
    """Create table `name` from `elements` (columns and constraints) when it is missing; when it exists,
    add the columns of `elements` it does not have."""
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(name):
        op.create_table(name, *elements)
        return
    present = {column["name"] for column in inspector.get_columns(name)}
    for column in elements:
        if isinstance(column, sa.Column) and column.name not in present:
            op.add_column(name, column)


def ensure_index(name: str, table: str, columns: list[Any], *, unique: bool = False) -> None:
    """Create index `name` on `table` unless an index of that name exists."""
    op.create_index(name, table, columns, unique=unique, if_not_exists=True)
