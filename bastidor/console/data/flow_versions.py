"""The version history of each flow, kept by the console in its database (home/console.db, or the shared one).

A version is recorded when the catalog sees a flow file whose content (SHA-256) differs from the
latest version it knows, with the source text read from disk, so any two versions can be compared
later. It is dated by the file's modification time when that is newer than the previous version,
otherwise by the moment it was seen. A run recorded in the run store with the same flow file and
hash is noted as the first run of that version. Runs of versions whose source is no longer on disk
are not recorded: their text cannot be shown.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, UniqueConstraint, insert, select, update
from sqlalchemy.exc import IntegrityError

from bastidor.console.data.flow_changes import summarize_change
from bastidor.store.records import RunRecord, utc_now
from bastidor.store.schema import UtcDateTime
from bastidor.database.schema import prepare_tables

MIN_SHA_PREFIX = 7

metadata = MetaData()

flow_versions = Table(
    "console_flow_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow_path", String(500), nullable=False),
    Column("number", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("first_run_id", String(64)),
    UniqueConstraint("flow_path", "number", name="one_version_per_number"),
)


@dataclass(frozen=True)
class FlowVersion:
    """One version of one flow: its place in the history, hash, source text, and when it appeared."""

    id: int
    flow_path: str
    number: int
    sha256: str
    source: str
    first_seen_at: datetime
    first_run_id: str | None

    @property
    def short_sha(self) -> str:
        """The first 12 characters of the hash, enough to tell versions apart."""
        return self.sha256[:12]


@dataclass(frozen=True)
class FlowChange:
    """When a flow last changed and what changed, compared with the version before."""

    version: FlowVersion
    previous: FlowVersion | None
    summary: str


class FlowVersions:
    """Records and reads the versions of flows (paths are relative to the flows folder, with `/`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        prepare_tables(engine, "console")

    def observe(self, flow_path: str, file: Path, runs: Iterable[RunRecord] = ()) -> FlowVersion | None:
        """Record the file's current content as a new version when it changed; note its first run.

        `runs` are runs of this flow (any order); the oldest one with the file's hash becomes the
        version's first run. Returns the current version, or None when the file cannot be read.
        """
        try:
            raw = file.read_bytes()
            modified = datetime.fromtimestamp(file.stat().st_mtime, timezone.utc)
        except OSError:
            return None
        sha = hashlib.sha256(raw).hexdigest()
        newest = self._newest(flow_path, 2)
        current = newest[0] if newest else None
        if current is None or current.sha256 != sha:
            first_run = _oldest_run(runs, sha, after=current.first_seen_at if current else None)
            return self._add(flow_path, sha, raw.decode("utf-8", errors="replace"), modified, first_run, current)
        if current.first_run_id is None:
            first_run = _oldest_run(runs, sha, after=newest[1].first_seen_at if len(newest) > 1 else None)
            if first_run is not None:
                return self._note_run(current, first_run.run_id)
        return current

    def history(self, flow_path: str) -> list[FlowVersion]:
        """Every recorded version of the flow, oldest first."""
        query = select(flow_versions).where(flow_versions.c.flow_path == flow_path).order_by(flow_versions.c.number)
        with self.engine.connect() as connection:
            return [FlowVersion(**row) for row in connection.execute(query).mappings()]

    def latest(self, flow_path: str) -> FlowVersion | None:
        """The newest recorded version of the flow, or None."""
        newest = self._newest(flow_path, 1)
        return newest[0] if newest else None

    def _newest(self, flow_path: str, count: int) -> list[FlowVersion]:
        query = (select(flow_versions).where(flow_versions.c.flow_path == flow_path)
                 .order_by(flow_versions.c.number.desc()).limit(count))
        with self.engine.connect() as connection:
            return [FlowVersion(**row) for row in connection.execute(query).mappings()]

    def _add(self, flow_path: str, sha: str, source: str, modified: datetime, first_run: RunRecord | None,
             previous: FlowVersion | None) -> FlowVersion:
        now = utc_now()
        seen = modified if previous is None or modified > previous.first_seen_at else now
        seen = min(seen, now, first_run.started_at if first_run else now)
        row = {"flow_path": flow_path, "number": previous.number + 1 if previous else 1, "sha256": sha,
               "source": source, "first_seen_at": seen, "first_run_id": first_run.run_id if first_run else None}
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(flow_versions).values(**row))
        except IntegrityError:
            pass  # another request recorded a version at the same moment: read what it stored
        return self.latest(flow_path)

    def _note_run(self, version: FlowVersion, run_id: str) -> FlowVersion:
        with self.engine.begin() as connection:
            connection.execute(update(flow_versions).where(flow_versions.c.id == version.id,
                                                           flow_versions.c.first_run_id.is_(None))
                               .values(first_run_id=run_id))
        return self.latest(version.flow_path) or version


def find_version(history: list[FlowVersion], sha: str) -> FlowVersion | None:
    """The newest version in `history` whose hash is `sha` or starts with it (at least 7 characters), or None."""
    sha = sha.strip().lower()
    if len(sha) < MIN_SHA_PREFIX:
        return None
    matches = [version for version in history if version.sha256.startswith(sha)]
    return matches[-1] if matches else None


def _oldest_run(runs: Iterable[RunRecord], sha: str, after: datetime | None) -> RunRecord | None:
    """The oldest run of the version with hash `sha` that started after `after` (the version before it)."""
    matching = [run for run in runs if run.flow_sha256 == sha and (after is None or run.started_at > after)]
    return min(matching, key=lambda run: run.started_at, default=None)


def last_change(history: list[FlowVersion]) -> FlowChange | None:
    """The latest version of a history (oldest first) and what changed compared with the one before."""
    if not history:
        return None
    version = history[-1]
    previous = history[-2] if len(history) > 1 else None
    summary = summarize_change(previous.source, version.source) if previous else "first version seen"
    return FlowChange(version, previous, summary)


def changes(history: list[FlowVersion]) -> list[FlowChange]:
    """Every version of a history with what changed from the one before, newest first."""
    return [last_change(history[:index + 1]) for index in range(len(history) - 1, -1, -1)]
