"""Signed checkpoints: when an audit log seals its chain, and the anchor each seal leaves outside the home.

An ``audit.checkpoint`` record seals the record just before it (see `bastidor.audit.seals`). A log writes
one, before the next event, once `CheckpointPolicy.every_records` records or `every_seconds` seconds have
passed since the last; run and service logs also write one right after their first record and one when
they close. Journals, closed after every record, write no record on closing: they only seal their last
record into the anchor, so the file holds exactly the records callers wrote.

Without a usable signing key the log still gets written: it says so once in an ``audit.unsigned`` record
(with the reason) and goes on; when the key is back, the next event is preceded by a checkpoint. A seal
that cannot be anchored (the anchors folder is not writable) is skipped; the verifier then says no anchor
was found.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastidor.audit.anchors import AnchorStore, anchors_folder
from bastidor.audit.keys import SigningKey, SigningUnavailable, load_signing_key
from bastidor.audit.kinds import CHECKPOINT_EVENT, UNSIGNED_EVENT, LogKind
from bastidor.audit.processors import utc_now_iso
from bastidor.audit.resume import ResumePoint
from bastidor.audit.seals import Seal, checkpoint_fields, make_seal

WriteOwn = Callable[[str, dict[str, Any]], None]
"""Writes one of the log's own records (event name, fields) into the chain."""

MAX_RECORDS_BETWEEN_CHECKPOINTS = 100
"""The most records a writer leaves between two checkpoints; the verifier allows this plus a little slack."""


@dataclass(frozen=True)
class CheckpointPolicy:
    """How often a log seals its chain: after this many records, or this many seconds (checked at the next
    event), whichever comes first."""

    every_records: int = 100
    every_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.every_records <= MAX_RECORDS_BETWEEN_CHECKPOINTS:
            raise ValueError(f"every_records must be between 1 and {MAX_RECORDS_BETWEEN_CHECKPOINTS}: the verifier "
                             f"expects a checkpoint at least every {MAX_RECORDS_BETWEEN_CHECKPOINTS} records")


class Checkpointer:
    """Decides when one open log writes checkpoints, signs them, and leaves its anchor."""

    def __init__(self, kind: LogKind, run_id: str, path: Path, resume: ResumePoint, policy: CheckpointPolicy,
                 chain_end: Callable[[], tuple[int, str]], sync: Callable[[], None]) -> None:
        self.kind, self.run_id, self.path, self.policy = kind, run_id, path, policy
        self._chain_end, self._sync = chain_end, sync
        self.first_hash = resume.first_hash
        self._since = resume.since_checkpoint
        self._sealed_at = resume.last_sealed_at
        self._noted_unsigned = resume.unsigned_reason
        self._sealed = resume.sealed
        self._written_now = 0
        self.key, self.unsigned_reason = _signing_key()
        self.anchors = AnchorStore(anchors_folder(self.key.path)) if self.key else None

    def before_event(self, write: WriteOwn) -> None:
        """Say the log is going unsigned, or write a checkpoint when one is due, before the next event."""
        reason = self._unsigned_because()
        if reason is not None:
            if self._noted_unsigned != reason:
                write(UNSIGNED_EVENT, {"reason": reason})
                self._noted_unsigned = reason
        elif self._since and (self._noted_unsigned or self._due()):
            self._checkpoint(write)

    def after_event(self, write: WriteOwn) -> None:
        """Right after a run or service log's first record, seal it."""
        seq, _ = self._chain_end()
        if seq == 1 and not self.kind.open_ended and self.key is not None:
            self._checkpoint(write)

    def record_written(self, event: str, seq: int, record_hash: str) -> None:
        """Keep count of records since the last checkpoint (called after every record)."""
        self._written_now += 1
        if seq == 1:
            self.first_hash = record_hash
            self._sealed_at = self._sealed_at or time.time()
        self._since = 0 if event == CHECKPOINT_EVENT else self._since + 1

    def at_close(self, write: WriteOwn) -> None:
        """Close with a checkpoint (run and service logs) or seal the last record into the anchor (journals)."""
        if self.key is None or self.first_hash is None or not self._since:
            return
        if not self.kind.open_ended:
            self._checkpoint(write)
        elif self._written_now:
            seq, record_hash = self._chain_end()
            self._anchor(make_seal(self.key, self.run_id, self.first_hash, seq, record_hash, utc_now_iso()))

    def _unsigned_because(self) -> str | None:
        if self.key is None:
            return self.unsigned_reason
        if self.first_hash is None and self._chain_end()[0] > 0:
            return "the log's first record is unreadable, so its records cannot be signed"
        return None

    def _due(self) -> bool:
        if self._since >= self.policy.every_records or not (self._sealed or self.kind.open_ended):
            return True  # a run or service log whose first seal was lost (a full disk) is sealed at once
        return self._sealed_at is None or time.time() - self._sealed_at >= self.policy.every_seconds

    def _checkpoint(self, write: WriteOwn) -> None:
        seq, record_hash = self._chain_end()
        seal = make_seal(self.key, self.run_id, self.first_hash, seq, record_hash, utc_now_iso())
        write(CHECKPOINT_EVENT, checkpoint_fields(seal))
        self._sealed_at, self._noted_unsigned, self._sealed = time.time(), None, True
        self._anchor(seal)

    def _anchor(self, seal: Seal) -> None:
        try:
            self._sync()  # the log holds the sealed record for good before the anchor says it does
            self.anchors.save(seal, self.path)
        except OSError:  # the log goes on; verify says the anchor is missing or behind
            pass


def _signing_key() -> tuple[SigningKey | None, str | None]:
    try:
        return load_signing_key(), None
    except SigningUnavailable as error:
        return None, str(error)
    except Exception as error:  # a log is never stopped because it cannot be signed
        return None, f"the audit signing key could not be loaded ({error})"
