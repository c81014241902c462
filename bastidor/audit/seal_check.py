"""Checking an audit log's seals: every checkpoint's signature, the anchor outside the home, the unsigned tail.

A good seal on record S proves every record up to S, since each record holds the hash of the one before.
So what is proven is the prefix up to the latest good seal, from a checkpoint in the log or from the log's
anchor; the records after it are its unsigned tail. The anchor also shows how far the log once reached: a
log that stops before the anchored record was cut back. A writer never leaves more than
`bastidor.audit.checkpoints.MAX_RECORDS_BETWEEN_CHECKPOINTS` records unsigned, unless it said it could not sign.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastidor.audit.chain import Record
from bastidor.audit.checkpoints import MAX_RECORDS_BETWEEN_CHECKPOINTS
from bastidor.audit.kinds import CHECKPOINT_EVENT, UNSIGNED_EVENT
from bastidor.audit.seals import Seal, seal_of_checkpoint, seal_problem
from bastidor.audit.verdicts import VerifyResult

UNSIGNED_SLACK = 10
MAX_UNSIGNED_TAIL = MAX_RECORDS_BETWEEN_CHECKPOINTS + UNSIGNED_SLACK
"""More records than this after the last good seal were not left there by a Bastidor writer."""


@dataclass(frozen=True)
class AnchorLookup:
    """The log's anchor as found outside the home before the log was read; `unusable` says why it could not
    be used (unreadable or damaged: the home's writer cannot reach it, so this is never taken as tampering)."""

    folder: Path
    seal: Seal | None = None
    unusable: str | None = None


class SealCheck:
    """Checks the seals of one log's records (in chain order) and sets what they prove on the result."""

    def __init__(self, result: VerifyResult, records: list[Record], public_keys: Mapping[str, Any],
                 anchor: AnchorLookup) -> None:
        self.result, self.records, self.keys, self.anchor = result, records, public_keys, anchor
        self.first_hash = records[0].data["hash"] if records and records[0].seq == 1 else None
        self.by_seq = {record.seq: record for record in records}

    def run(self) -> None:
        """Check checkpoints, then the anchor, then the tail after the last good seal."""
        checkpoints = [record for record in self.records if record.event == CHECKPOINT_EVENT]
        self.result.checkpoints = len(checkpoints)
        if (checkpoints or self.anchor.seal) and not self.keys:
            self._add(None, None, "there is no public key to check the log's signatures with: pass the key "
                      "`runner.py audit key` prints on the machine that wrote it (--public-key), or set "
                      "$BASTIDOR_AUDIT_PUBLIC_KEY")
            return
        for record in checkpoints:
            self._check_checkpoint(record)
        self._check_anchor()
        self._check_tail()

    def _check_checkpoint(self, record: Record) -> None:
        seal = seal_of_checkpoint(record.data)
        if seal is None:
            self._add(record.line, record.seq, f"{record.where}: the checkpoint lacks its signature fields: it was "
                      "edited")
        elif seal.first_hash != self.first_hash:
            self._add(record.line, record.seq, f"{record.where}: the checkpoint belongs to another log (whose first "
                      f"record hash is {seal.first_hash[:16]}): it was copied in from that log")
        elif (problem := seal_problem(seal, self.keys)) is not None:
            since = (f"after line {self.result.proven_line} (the last one a good seal vouches for)"
                     if self.result.proven_line else "before it")
            self._add(record.line, record.seq, f"{record.where}: the checkpoint does not hold: {problem}: a record "
                      f"{since} was rewritten, or the checkpoint was forged")
        else:
            self._prove(seal.seq, f"the signed checkpoint at line {record.line} (key {seal.key_id})")

    def _check_anchor(self) -> None:
        seal = self.anchor.seal
        if self.anchor.unusable:
            self._add(None, None, f"{self.anchor.unusable}, so a cut back to one of the log's checkpoints could "
                      "not be noticed", "warning")
        elif seal is None and self.result.checkpoints:
            self._add(None, None, f"there is no anchor for this log in {self.anchor.folder}, so a cut back to one "
                      "of its checkpoints could not be noticed (normal when the log was written on another "
                      "machine: pass its anchors folder with --anchors)", "warning")
        elif seal is not None and (problem := seal_problem(seal, self.keys)) is not None:
            self._add(None, None, f"the anchor outside the home ({self.anchor.folder}) does not hold: {problem}")
        elif seal is not None:
            self._compare_with_anchor(seal)

    def _compare_with_anchor(self, seal: Seal) -> None:
        last = self.records[-1] if self.records else None
        record = self.by_seq.get(seal.seq)
        if last is None or last.seq < seal.seq:
            where = f"line {last.line}" if last else "the start"
            self._add(last.line if last else None, None, f"records after {where} were removed: the anchor outside "
                      f"the home shows the log reached seq {seal.seq} (sealed {seal.at})")
        elif record is not None and record.data["hash"] != seal.hash:
            self._add(record.line, record.seq, f"{record.where}: the record differs from the one the anchor outside "
                      f"the home sealed at {seal.at}: the log was rewritten")
        elif record is not None:
            self._prove(seal.seq, f"the anchor outside the home (sealed {seal.at})")

    def _check_tail(self) -> None:
        result = self.result
        tail = [record for record in self.records if record.seq > result.proven_seq]
        unsigned = [record for record in tail if record.event != CHECKPOINT_EVENT]
        notes = [record for record in tail if record.event == UNSIGNED_EVENT]
        result.unsigned_after = len(unsigned)
        if notes:
            result.unsigned_reason = str(notes[-1].data.get("reason") or "no reason was given")
        elif not result.proven_seq and len(self.records) == 1 and self.anchor.seal is None:
            self._add(self.records[0].line, 1, "only the first record was written, and it was never sealed: the "
                      "process stopped (or the disk filled up) right after writing it", "warning")
        elif not result.proven_seq and self.records and not result.errors:
            self._add(None, None, self._nothing_signed())
        elif len(unsigned) > MAX_UNSIGNED_TAIL:
            after = f"line {result.proven_line}" if result.proven_line else "the start"
            self._add(unsigned[0].line, unsigned[0].seq, f"{len(unsigned)} records after {after} carry no "
                      f"signature, more than Bastidor ever leaves unsigned ({MAX_UNSIGNED_TAIL}): records were "
                      f"added to the log after {after}")

    def _nothing_signed(self) -> str:
        return ("nothing in this log is signed: it has no checkpoint, and there is no anchor for it in "
                f"{self.anchor.folder}. Bastidor signs each log from its first record, or records why it "
                "could not (audit.unsigned); this log was forged, written by a Bastidor version that did "
                "not sign logs, or (for a journal) its anchors folder is not at hand (--anchors)")

    def _add(self, line: int | None, seq: int | None, message: str, severity: str = "error") -> None:
        self.result.add(line, seq, message, severity, area="seals")

    def _prove(self, seq: int, by: str) -> None:
        if seq > self.result.proven_seq and seq in self.by_seq:
            self.result.proven_seq, self.result.proven_by = seq, by
            self.result.proven_line = self.by_seq[seq].line
