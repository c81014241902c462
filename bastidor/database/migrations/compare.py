"""How a component's tables in a database are compared with its models, by Alembic's autogenerate.

The same options serve writing a revision (`new.py`, through `env.py`) and the drift test: only the
component's own tables are looked at (in the shared PostgreSQL database the other components' tables, and
any table that is not Bastidor's, are left out), revisions use batch operations so that they also run on
SQLite, and a column type of Bastidor's own (`UtcDateTime`) is written as the plain type under it, so a
revision never imports the models it was written from.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, TypeDecorator


def comparison_options(component: str) -> dict[str, Any]:
    """Options for Alembic's `MigrationContext` comparing `component`'s tables."""
    from bastidor.database.schema import component_metadata, version_table

    tables = {name for metadata in component_metadata(component) for name in metadata.tables}

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return name in tables if type_ == "table" else True

    return {"target_metadata": component_metadata(component), "version_table": version_table(component),
            "include_name": include_name, "render_item": render_item, "render_as_batch": True,
            "compare_type": True}


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write a `TypeDecorator` column type as the SQLAlchemy type it stores (``sa.DateTime(timezone=True)``)."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def differences(connection: Connection, component: str) -> list[Any]:
    """What Alembic would change to make `component`'s tables on `connection` match its models (empty when
    they match)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    options = comparison_options(component)
    context = MigrationContext.configure(connection, opts=options)
    return compare_metadata(context, options["target_metadata"])
