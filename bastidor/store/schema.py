"""The run store's tables (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Column names equal the field names of the records in `bastidor.store.records`, so a row maps straight
onto its dataclass. Times are stored as UTC (`UtcDateTime`); JSON columns hold already-masked dicts.
A change to a table here needs a schema revision: see `bastidor.database.schema`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect


class UtcDateTime(TypeDecorator[datetime]):
    """A datetime always stored as UTC and always read back timezone-aware.

    SQLite has no time zones: values are stored as naive UTC text, which also sorts correctly.
    PostgreSQL stores ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before storing (a naive datetime is taken to be UTC already)."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return a timezone-aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("flow_name", String(200), nullable=False),
    Column("flow_path", Text, nullable=False),
    Column("flow_sha256", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("inputs", JSON, nullable=False),
    Column("audit_path", Text),
    Column("report_path", Text),
    Column("items_total", Integer, nullable=False, default=0),
    Column("items_succeeded", Integer, nullable=False, default=0),
    Column("items_failed", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("host", String(255)),
    Column("user", String(255)),
    Column("audit_last_hash", String(64)),
    Column("pid", Integer),
    Index("ix_runs_started_at", "started_at"),
    Index("ix_runs_flow_name_started_at", "flow_name", "started_at"),
)

items = Table(
    "items",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("item_ref", String(255), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("reason", Text),
    Column("attempts", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("data", JSON, nullable=False),
    Column("exception", String(20)),
    Index("ix_items_run_id_started_at", "run_id", "started_at"),
    Index("ix_items_started_at", "started_at"),
    Index("ix_items_item_ref", "item_ref"),
    Index("ix_items_exception_status", "exception", "status"),
)

steps = Table(
    "steps",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("path", Text, nullable=False),
    Column("parent_path", Text),
    Column("name", Text),
    Column("action", String(100)),
    Column("target", Text),
    Column("item_ref", String(255)),
    Column("attempt", Integer, nullable=False),
    Column("status", String(30), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("duration_ms", Integer),
    Column("error", Text),
    Column("screenshot", Text),
    Column("screenshot_sha256", String(64)),
    Column("line", Text),
    Column("error_detail", Text),
    Index("ix_steps_run_id_item_ref", "run_id", "item_ref"),
)
