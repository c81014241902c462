"""The artifact store contract: the run folder and the shared database keep evidence the same way.

The same tests run against every backend (a local folder, PostgreSQL ``bytea``), as APScheduler and
Procrastinate test their stores; the database's tables refuse to change or lose what they were given.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bastidor.audit.artifacts import ArtifactConflict, ArtifactUnavailable, LocalArtifactStore, open_artifact_store
from bastidor.database.places import Places

SHOT = b"\x89PNG\r\n\x1a\n" + b"screenshot bytes" * 50


@pytest.fixture(params=["local", "postgres"])
def store(request, tmp_path):
    """An artifact store of each kind, empty."""
    if request.param == "local":
        return open_artifact_store(Places(tmp_path / "home"))
    url = request.getfixturevalue("pg_url")
    return open_artifact_store(Places(tmp_path / "home", url))


def test_a_stored_file_reads_back_with_its_hash(store):
    assert store.put("run-1", "screenshots/evidence.png", SHOT) is True
    assert store.read("run-1", "screenshots/evidence.png") == SHOT
    assert store.sha256("run-1", "screenshots/evidence.png") == hashlib.sha256(SHOT).hexdigest()


def test_storing_the_same_file_again_adds_nothing(store):
    store.put("run-1", "screenshots/evidence.png", SHOT)
    assert store.put("run-1", "screenshots/evidence.png", SHOT) is False


def test_other_bytes_never_replace_stored_evidence(store):
    store.put("run-1", "screenshots/evidence.png", SHOT)
    with pytest.raises(ArtifactConflict):
        store.put("run-1", "screenshots/evidence.png", SHOT + b"retouched")
    assert store.read("run-1", "screenshots/evidence.png") == SHOT


def test_a_file_of_another_run_is_not_this_runs_evidence(store):
    store.put("run-1", "screenshots/evidence.png", SHOT)
    with pytest.raises(ArtifactUnavailable, match="is missing"):
        store.read("run-2", "screenshots/evidence.png")


def test_a_local_name_leading_out_of_the_run_folder_is_never_read(tmp_path):
    (tmp_path / "secret.key").write_bytes(b"k" * 40)
    store = LocalArtifactStore(folder=tmp_path / "run")
    with pytest.raises(ArtifactUnavailable, match="leads out of the log's folder"):
        store.read("run", "../secret.key")


@pytest.mark.parametrize("statement", [
    "UPDATE artifacts SET content = 'x'::bytea",
    "DELETE FROM artifacts",
    "TRUNCATE artifacts",
    "UPDATE audit_records SET line = 'x'::bytea",
    "DELETE FROM audit_records",
    "TRUNCATE audit_records",
])
def test_postgresql_refuses_to_change_or_remove_audit_records_and_evidence(pg_url, tmp_path, statement):
    from bastidor.audit.tables import audit_records
    from bastidor.database.engines import postgres_engine

    open_artifact_store(Places(tmp_path, pg_url)).put("run-1", "shot.png", SHOT)
    engine = postgres_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(audit_records.insert().values(log_id="run-1", line_no=1, line=b"{}", host="here"))
    with pytest.raises(DBAPIError, match="is append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with engine.connect() as connection:
        counts = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("artifacts", "audit_records")]
    assert counts == [1, 1]
