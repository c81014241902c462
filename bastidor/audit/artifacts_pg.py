"""Evidence files in the shared database's ``artifacts`` table (``bytea``), behind `ArtifactStore`.

Screenshots and downloads are small enough for ``bytea`` (one value may hold up to 1 GB; a screenshot is a
few hundred KB). The hash `sha256` returns is computed here from the bytes read back, never taken from the
row's ``sha256`` column nor from the server, so a row whose content was changed is caught.
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bastidor.audit.artifacts import ArtifactConflict, ArtifactUnavailable
from bastidor.audit.tables import artifacts, prepare_shared_tables


class PostgresArtifactStore:
    """The ``artifacts`` table, through an engine (one transaction per call) or a connection already in one."""

    description = "the shared database"

    def __init__(self, bind: Engine | Connection) -> None:
        self.bind = bind
        prepare_shared_tables(bind if isinstance(bind, Engine) else bind.engine)

    def put(self, run_id: str, name: str, data: bytes) -> bool:
        """Insert the file unless a row of that name is there (same bytes: False; other bytes: conflict)."""
        digest = hashlib.sha256(data).hexdigest()
        statement = insert(artifacts).values(run_id=run_id, name=name, sha256=digest, size=len(data), content=data,
                                             host=socket.gethostname())
        statement = statement.on_conflict_do_nothing(index_elements=["run_id", "name"]).returning(artifacts.c.name)
        added = self._run(lambda connection: connection.execute(statement).first())
        if added is not None:
            return True
        stored = self._run(lambda connection: connection.execute(
            select(artifacts.c.sha256).where(artifacts.c.run_id == run_id, artifacts.c.name == name)).scalar())
        if stored != digest:
            raise ArtifactConflict(f"the shared database already holds other bytes as {name} of run {run_id}")
        return False

    def read(self, run_id: str, name: str) -> bytes:
        """The stored bytes."""
        try:
            content = self._run(lambda connection: connection.execute(
                select(artifacts.c.content).where(artifacts.c.run_id == run_id, artifacts.c.name == name)).scalar())
        except SQLAlchemyError as error:
            raise ArtifactUnavailable(f"cannot be read from the shared database ({_first_line(error)})") from error
        if content is None:
            raise ArtifactUnavailable("is missing from the shared database: it was never shipped there, or was "
                                      "removed")
        return bytes(content)

    def sha256(self, run_id: str, name: str) -> str:
        """The SHA-256 of the bytes read back."""
        return hashlib.sha256(self.read(run_id, name)).hexdigest()

    def _run(self, work: Any) -> Any:
        if isinstance(self.bind, Engine):
            with self.bind.begin() as connection:
                return work(connection)
        return work(self.bind)


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
