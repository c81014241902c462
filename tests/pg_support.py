"""Throwaway PostgreSQL databases for tests: one per test, dropped afterwards.

The server is the machine's PostgreSQL (127.0.0.1:5432, trust authentication, as on every machine of this
project; `$BASTIDOR_TEST_POSTGRES` names another admin URL). Where no PostgreSQL can be reached the tests
that need one are skipped with one line saying so and how to start it, never silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

ADMIN_URL = os.environ.get("BASTIDOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
_reachable: str | None = None  # "" when reachable, else why not (checked once per process)


def postgres_problem() -> str:
    """Why no PostgreSQL can be used ("" when one can)."""
    global _reachable
    if _reachable is None:
        try:
            engine = create_engine(ADMIN_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
            _reachable = ""
        except OperationalError as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            _reachable = f"PostgreSQL is not reachable at {make_url(ADMIN_URL).host}:{make_url(ADMIN_URL).port} ({reason}); {START_HINT}"
    return _reachable


def require_postgres() -> None:
    """Skip the calling test, with the reason, when no PostgreSQL can be reached."""
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)


def create_database() -> str:
    """A new empty database; returns its URL."""
    name = f"bastidor_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database at `url`, ending any session still connected to it."""
    from bastidor.database.engines import close_engines

    close_engines()
    _admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _admin(statement: str) -> None:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database for this test (skipped, saying why, without PostgreSQL)."""
    require_postgres()
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of one test's own, which that test may stop, start and restart at will."""

    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        """The URL of the cluster's `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        """`pg_ctlcluster ... restart`: every connection to it is cut, then it answers again."""
        _cluster_command("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "restart",
                         "-m", "fast")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A new PostgreSQL cluster (pg_createcluster, trust authentication, a free port), dropped afterwards:
    for tests that restart PostgreSQL without disturbing the tests sharing the machine's cluster."""
    require_postgres()
    versions = sorted(Path("/etc/postgresql").glob("*"), key=lambda path: [int(part) for part in
                                                                           path.name.split(".") if part.isdigit()])
    if os.geteuid() != 0 or not shutil.which("pg_createcluster") or not versions:
        pytest.skip("a private PostgreSQL cluster needs root and pg_createcluster (Debian's postgresql-common)")
    cluster = PrivatePostgres(versions[-1].name, f"bastidor_{uuid.uuid4().hex[:8]}", _free_port())
    _cluster_command("pg_createcluster", cluster.version, cluster.name, "-p", str(cluster.port), "--start",
                     "--", "--auth=trust")
    try:
        yield cluster
    finally:
        from bastidor.database.engines import close_engines

        close_engines()
        _cluster_command("pg_dropcluster", cluster.version, cluster.name, "--stop")


def _cluster_command(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip() or result.stdout.strip()}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_report_line() -> str:
    """One line for the top of the test report: whether the PostgreSQL tests run, or why they are skipped."""
    problem = postgres_problem()
    if problem:
        return f"PostgreSQL tests: SKIPPED: {problem}"
    return f"PostgreSQL tests: against {make_url(ADMIN_URL).host}:{make_url(ADMIN_URL).port} (a throwaway database each)"
