"""Where evidence files live: the run's folder (embedded), or the shared database (distributed).

An artifact is an evidence file an audit log names (a screenshot, a download, a PDF), known by its run
and its name exactly as the log records it: ``screenshots/step-3_a1.png`` (relative to the run's folder) or
an absolute path. Every store answers the same three questions, so the verifier, the console and the
shipper never care which one they have:

    store = open_artifact_store(places_for(home))
    store.put(run_id, "screenshots/evidence.png", data)     # True: added; False: already there, same bytes
    store.read(run_id, "screenshots/evidence.png")          # the bytes, or ArtifactUnavailable saying why
    store.sha256(run_id, "screenshots/evidence.png")        # computed from the bytes, never a stored hash

`LocalArtifactStore` is today's files in the run folder; `PostgresArtifactStore`
(`bastidor.audit.artifacts_pg`) is the ``artifacts`` table of the shared database.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

_CHUNK = 1 << 20


class ArtifactUnavailable(Exception):
    """An artifact's bytes cannot be had; the message is a phrase that follows its name ("is missing: ...")."""


class ArtifactConflict(Exception):
    """Other bytes are already stored under this artifact's name; evidence is never replaced."""


class ArtifactStore(Protocol):
    """Evidence files by (run id, recorded name)."""

    description: str
    """Where the files are, for messages."""

    def put(self, run_id: str, name: str, data: bytes) -> bool:
        """Store `data` as `name` of `run_id`: True when added, False when the same bytes were already there;
        raise `ArtifactConflict` when other bytes are."""

    def read(self, run_id: str, name: str) -> bytes:
        """The bytes of `name`, or raise `ArtifactUnavailable`."""

    def sha256(self, run_id: str, name: str) -> str:
        """The SHA-256 of the stored bytes (hex), or raise `ArtifactUnavailable`."""


class LocalArtifactStore:
    """Evidence files in run folders: `runs_dir`/<run id>/<name>, or one log's own `folder`.

    Relative names may not lead out of the run's folder. An absolute name (a download saved elsewhere) is
    looked for where it was saved; when that is gone and the path runs through the run's own folder, the
    same file is looked for in the folder this store knows, so a run folder moved as a whole still verifies.
    """

    def __init__(self, runs_dir: Path | None = None, *, folder: Path | None = None) -> None:
        if (runs_dir is None) == (folder is None):
            raise ValueError("give either runs_dir (every run's folder) or folder (one log's folder)")
        self.runs_dir, self.folder = runs_dir, folder
        self.description = f"the folder {folder}" if folder else f"the run folders in {runs_dir}"

    def put(self, run_id: str, name: str, data: bytes) -> bool:
        """Write the file unless it is there; an existing file with other bytes is a conflict."""
        path = self._path(run_id, name)
        if path.exists():
            if _digest_file(path) != hashlib.sha256(data).hexdigest():
                raise ArtifactConflict(f"{path} already holds other bytes")
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        return True

    def read(self, run_id: str, name: str) -> bytes:
        """The file's bytes."""
        return _guarded(self._path(run_id, name), Path.read_bytes)

    def sha256(self, run_id: str, name: str) -> str:
        """The SHA-256 of the file, read in chunks."""
        return _guarded(self._path(run_id, name), _digest_file)

    def _path(self, run_id: str, name: str) -> Path:
        folder = self.folder or self.runs_dir / run_id
        path = Path(name)
        if not path.is_absolute():
            candidate = folder / path
            if not candidate.resolve().is_relative_to(folder.resolve()):
                raise ArtifactUnavailable("leads out of the log's folder: evidence is only looked for inside it")
            return candidate
        if path.exists() or run_id not in path.parts:
            return path
        tail = path.parts[len(path.parts) - path.parts[::-1].index(run_id):]
        moved = folder.joinpath(*tail)
        return moved if tail and moved.exists() else path


def open_artifact_store(places) -> ArtifactStore:
    """The artifact store of `places` (see `bastidor.database.places`): the shared database's when one is
    set, else the home folder's run folders."""
    if places.shared:
        from bastidor.audit.artifacts_pg import PostgresArtifactStore
        from bastidor.database.engines import postgres_engine

        return PostgresArtifactStore(postgres_engine(places.url))
    return LocalArtifactStore(places.home / "runs")


def _guarded(path: Path, read):
    try:
        return read(path)
    except FileNotFoundError:
        raise ArtifactUnavailable("is missing: it was deleted or moved") from None
    except OSError as error:
        raise ArtifactUnavailable(f"cannot be read ({error.strerror or error})") from error


def _digest_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
