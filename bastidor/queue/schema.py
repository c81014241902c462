"""The work queue's tables (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Column names equal the field names of the records in `bastidor.queue.records`, so a row maps straight
onto its dataclass. Times are UTC (`UtcDateTime`, shared with the run store). The tables can live in
the run store's database or in a file of their own: their names do not clash.
A change to a table here needs a schema revision: see `bastidor.database.schema`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bastidor.store.schema import UtcDateTime

metadata = MetaData()

run_requests = Table(
    "run_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("flow_path", Text, nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("enqueued_at", UtcDateTime, nullable=False),
    Column("schedule_id", String(200)),
    Column("fire_time", UtcDateTime),
    Column("not_before", UtcDateTime),
    Column("timeout_s", Float),
    Column("lease_owner", String(255)),
    Column("lease_expires", UtcDateTime),
    Column("heartbeat_at", UtcDateTime),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("run_id", String(64)),
    Column("error", Text),
    Column("queue_name", String(200)),
    Column("idle_resumes", Integer),
)
Index("ix_run_requests_claim", run_requests.c.state, run_requests.c.priority.desc(), run_requests.c.enqueued_at,
      run_requests.c.id)
Index("ix_run_requests_lease", run_requests.c.state, run_requests.c.lease_expires)
Index("ix_run_requests_schedule", run_requests.c.schedule_id, run_requests.c.state)
Index("ix_run_requests_fire_time", run_requests.c.schedule_id, run_requests.c.fire_time)
Index("ix_run_requests_queue", run_requests.c.queue_name, run_requests.c.state)

run_request_events = Table(
    "run_request_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Integer, ForeignKey("run_requests.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_state", String(20)),
    Column("to_state", String(20), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(255)),
    Column("reason", Text),
    Index("ix_run_request_events_request", "request_id", "id"),
)

work_items = Table(
    "work_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("queue_name", String(200), nullable=False),
    Column("reference", String(255), nullable=False),
    Column("data", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("exception_kind", String(20)),
    Column("defer_until", UtcDateTime),
    Column("deadline", UtcDateTime),
    Column("lease_owner", String(255)),
    Column("lease_expires", UtcDateTime),
    Column("heartbeat_at", UtcDateTime),
    Column("reason", Text),
    Column("output", JSON),
    Column("run_id", String(64)),
    UniqueConstraint("queue_name", "reference", name="uq_work_items_queue_reference"),
)
Index("ix_work_items_claim", work_items.c.queue_name, work_items.c.state, work_items.c.priority.desc(),
      work_items.c.created_at, work_items.c.id)  # the claim's whole ORDER BY: an index scan, never a sort
Index("ix_work_items_lease", work_items.c.state, work_items.c.lease_expires)
Index("ix_work_items_deadline", work_items.c.state, work_items.c.deadline)
Index("ix_work_items_run", work_items.c.run_id)

work_item_events = Table(
    "work_item_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("work_items.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_state", String(20)),
    Column("to_state", String(20), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(255)),
    Column("reason", Text),
    Index("ix_work_item_events_item", "item_id", "id"),
)
