"""The shared database's audit tables: every run's audit lines, and its evidence files.

Both tables live only in the shared PostgreSQL database (component ``shared``); the home folder's JSONL
file and run folder stay the local copy.

- ``audit_records``: one row per line of a run's audit log, keyed (``log_id``, ``line_no``). ``line`` holds
  the line's exact bytes (without its newline), so the JSONL file can be rebuilt byte for byte and checked
  by the same verifier, torn writes included; ``record_hash``, ``seq`` and ``event`` are copies of the
  record's fields for queries (None for a line that is not a record). Read a line in psql with
  ``convert_from(line, 'UTF8')``.
- ``artifacts``: one row per evidence file a log names (screenshots, downloads, PDFs), keyed (``run_id``,
  ``name``) where ``name`` is the file exactly as the log records it; ``sha256`` is what the shipper read.

Both are append-only: a trigger made with the table refuses UPDATE, DELETE and TRUNCATE. Only the table's
owner can switch that trigger off (``ALTER TABLE ... DISABLE TRIGGER``), and `audit verify` still finds any
change by the hashes the log recorded.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table, Text
from sqlalchemy.engine import Engine

from bastidor.store.schema import UtcDateTime

metadata = MetaData()

audit_records = Table(
    "audit_records",
    metadata,
    Column("log_id", String(200), primary_key=True),
    Column("line_no", Integer, primary_key=True, autoincrement=False),
    Column("line", LargeBinary, nullable=False),
    Column("record_hash", String(64)),
    Column("seq", Integer),
    Column("event", String(100)),
    Column("host", String(255), nullable=False),
    Column("shipped_at", UtcDateTime, nullable=False, default=lambda: dt.datetime.now(dt.timezone.utc)),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(200), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("host", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, default=lambda: dt.datetime.now(dt.timezone.utc)),
)

_prepared: set[str] = set()


def prepare_shared_tables(engine: Engine) -> None:
    """Make sure the audit tables, with their append-only triggers, exist in `engine`'s database at this
    Bastidor's schema version (component ``shared``; checked once per process per database)."""
    from bastidor.database.schema import prepare_tables

    key = engine.url.render_as_string(hide_password=True)
    if key in _prepared:
        return
    prepare_tables(engine, "shared")
    _prepared.add(key)
