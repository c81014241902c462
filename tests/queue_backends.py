"""The work queue's backends for the contract tests: every test that takes `queue` (or `queue_location`) runs
once on a SQLite file and once on PostgreSQL, as APScheduler and Procrastinate test their stores. Without a
reachable PostgreSQL the postgres runs are skipped with one line saying why.

    from queue_backends import queue, queue_location, queue_database  # noqa: F401  (fixtures)

The PostgreSQL runs of one test process share one throwaway database (dropped at the end), emptied before
each test (``TRUNCATE ... RESTART IDENTITY``, so ids start at 1 again): as isolated as a database per test,
without paying for creating and dropping one each time. Tests that need a database of their own (several
processes, a cut connection) take `pg_url` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_support import create_database, drop_database, require_postgres
from sqlalchemy import text

from bastidor.database.engines import postgres_engine
from bastidor.database.schema import component_metadata, prepare_tables
from bastidor.queue import Backoff, open_work_queue

BACKENDS = ("sqlite", "postgres")
TEST_BACKOFF = Backoff(first_s=10, factor=2)
"""A backoff the tests can reason about: 10 s after the first failed attempt, 20 s after the second."""


@pytest.fixture(scope="session")
def queue_database() -> Iterator[str]:
    """The URL of this test process's PostgreSQL database for the contract tests, with the queue's tables."""
    require_postgres()
    url = create_database()
    with postgres_engine(url).begin() as connection:
        prepare_tables(connection, "queue")
    yield url
    drop_database(url)


@pytest.fixture(params=BACKENDS)
def queue_location(request, tmp_path: Path) -> str | Path:
    """Where a test's queue lives: a SQLite file in tmp_path, or the shared PostgreSQL database, emptied."""
    if request.param == "sqlite":
        return tmp_path / "queue" / "work.db"
    url = request.getfixturevalue("queue_database")
    tables = ", ".join(table.name for metadata in component_metadata("queue") for table in metadata.sorted_tables)
    with postgres_engine(url).begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def queue(queue_location):
    """An open work queue on each backend in turn (closed after the test)."""
    with open_work_queue(queue_location, backoff=TEST_BACKOFF) as opened:
        yield opened
