"""The per-run audit log: one hash-chained JSON record per line, written through structlog processors.

Every record holds ``run_id``, ``seq``, ``ts``, ``event``, ``flow``, ``flow_sha256``, the event's own
fields, then ``prev_hash`` and ``hash`` (see `bastidor.audit.processors` and `bastidor.audit.canonical`).
Events are named ``run.started``, ``item.started``, ``step``, ``item.finished``, ``run.finished``,
``console.action`` and so on; a complete run or service log ends with ``run.finished``. The log adds its
own ``audit.checkpoint`` records (signed, see `bastidor.audit.checkpoints`) and, when it has no signing
key, one ``audit.unsigned`` record saying why.

Fields the executor passes with ``step`` events (documented here, not validated):

- ``step_path``: the step's position in the flow, e.g. ``"steps[2].then[0]"``;
- ``step_line``: where the analyst wrote it, e.g. ``"flows/orders.yaml:12"``;
- ``action``, ``target``, ``params``: what was done, on which element, with which values (masked);
- ``item_ref``, ``attempt``: the work item and its attempt number (1 for the first try);
- ``outcome``: ``"passed"``, ``"failed"``, ``"business_exception"``, ``"not_run"`` or ``"crashed"``;
- ``duration_ms``, ``error`` (masked text), ``screenshot`` (path), ``screenshot_sha256``.

The log fails closed: when a record cannot be written, `AuditWriteError` is raised and the log refuses
every later event, so a run can never go on unaudited. A write cut short part-way (a full disk) is cut back
to the end of the last whole record where the file allows it, so the file never ends in half a record.
Records reach the operating system one by one (the file is the evidence); the file is fsynced at each
checkpoint and on close.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from bastidor.audit.checkpoints import Checkpointer, CheckpointPolicy
from bastidor.audit.errors import AuditWriteError
from bastidor.audit.kinds import OWN_EVENTS, kind_of
from bastidor.audit.masking import SecretMasker
from bastidor.audit.processors import (
    RESERVED_KEYS,
    AddSequence,
    BindRunContext,
    ChainHash,
    MaskSecrets,
    add_utc_timestamp,
    normalize_record,
    render_json_line,
)
from bastidor.audit.resume import find_resume_point
from bastidor.audit.sink import AuditFileSink, end_torn_line, open_for_append

T = TypeVar("T")


class AuditLog:
    """The hash-chained audit log of one run. Thread-safe; use as a context manager or call `close`.

    ``AuditLog.open("runs/r1/audit.jsonl", run_id="r1", flow="orders", flow_sha256=digest,
    masker=masker)``, then ``log.event("step", action="fill", outcome="passed")``. Opening an existing
    log of the same run continues its chain (``seq`` and ``prev_hash``) after the last complete record.
    """

    def __init__(
        self, path: Path, stream: IO[bytes], masker: SecretMasker, context: dict[str, str], chain_end: tuple[int, str],
        checkpointer: Checkpointer | None = None,
    ) -> None:
        self.path = path
        self.masker = masker
        self._stream = stream
        self._sequence = AddSequence(chain_end[0])
        self._chain = ChainHash(chain_end[1])
        sink = AuditFileSink(path, stream)
        self._logger = self._chain_logger(sink, context, MaskSecrets(masker))
        self._own_logger = self._chain_logger(sink, context)  # signatures and hashes are never masked
        self._checkpointer = checkpointer
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._closed = False

    def _chain_logger(self, sink: AuditFileSink, context: dict[str, str], *masking: MaskSecrets) -> Any:
        import structlog  # imported when a log is opened: the command line's help and `validate` never pay for it

        processors = [BindRunContext(**context), self._sequence, add_utc_timestamp, normalize_record, *masking,
                      self._chain, render_json_line]
        return structlog.wrap_logger(sink, processors=processors, wrapper_class=structlog.BoundLogger,
                                     context_class=dict, cache_logger_on_first_use=True)

    @classmethod
    def open(
        cls, path: str | Path, *, run_id: str, flow: str, flow_sha256: str, masker: SecretMasker | None = None,
        checkpoints: CheckpointPolicy | None = None,
    ) -> AuditLog:
        """Open (or continue) the audit log at `path`; raise `AuditWriteError` if it cannot be written.

        `checkpoints` says how often the log seals its chain (default: every 100 records or 30 seconds)."""
        path = Path(path)
        resume = find_resume_point(path, run_id)
        stream = open_for_append(path)
        context = {"run_id": run_id, "flow": flow, "flow_sha256": flow_sha256}
        log = cls(path, stream, masker or SecretMasker(), context, (resume.last_seq, resume.last_hash))
        log._checkpointer = Checkpointer(kind_of(flow), run_id, path, resume, checkpoints or CheckpointPolicy(),
                                         chain_end=lambda: (log.count, log.last_hash), sync=log._sync)
        if resume.torn:
            log._write_guarded(lambda: end_torn_line(stream))
        return log

    @property
    def last_hash(self) -> str:
        """The ``hash`` of the last record written (64 zeros before the first)."""
        return self._chain.last_hash

    @property
    def count(self) -> int:
        """How many records the log holds (the ``seq`` of the last one)."""
        return self._sequence.last_seq

    def event(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one record for `event` with `fields` (masked) and return the record as written."""
        clashes = sorted(RESERVED_KEYS.intersection(fields))
        if clashes:
            raise ValueError(f"audit event fields may not set {', '.join(clashes)}: the log sets them itself")
        if event in OWN_EVENTS:
            raise ValueError(f"the audit log writes {event} records itself; choose another event name")
        with self._lock:
            self._check_usable()
            line = self._write_guarded(lambda: self._write_event(event, fields))
        return json.loads(line)

    def close(self) -> None:
        """Flush and fsync the file, then close it. Raises `AuditWriteError` if that fails."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._failure is not None:
                _close_quietly(self._stream)
                return
            try:
                if self._checkpointer is not None:
                    self._checkpointer.at_close(self._write_own)
                self._sync()
            except Exception as error:
                _close_quietly(self._stream)
                raise self._fail(error, "save") from error
            self._stream.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise AuditWriteError(
                f"The audit log {self.path} is unusable after an earlier write failure ({self._failure}); "
                "the run must stop."
            )
        if self._closed:
            raise AuditWriteError(f"The audit log {self.path} is closed; no more events can be recorded.")

    def _write_event(self, event: str, fields: dict[str, Any]) -> str:
        """Write a caller's record, with the checkpoints due before and after it."""
        if self._checkpointer is not None:
            self._checkpointer.before_event(self._write_own)
        line = self._write_record(self._logger, event, fields)
        if self._checkpointer is not None:
            self._checkpointer.after_event(self._write_own)
        return line

    def _write_record(self, logger: Any, event: str, fields: dict[str, Any]) -> str:
        """Write one record through `logger`; on failure the chain forgets it, as the file does."""
        chain_end = (self._sequence.last_seq, self._chain.last_hash)
        try:
            line = logger.audit(event, **fields)
        except BaseException:
            self._sequence.last_seq, self._chain.last_hash = chain_end
            raise
        if self._checkpointer is not None:
            self._checkpointer.record_written(event, self._sequence.last_seq, self._chain.last_hash)
        return line

    def _write_own(self, event: str, fields: dict[str, Any]) -> None:
        self._write_record(self._own_logger, event, fields)

    def _sync(self) -> None:
        self._stream.flush()
        if os.path.isfile(self.path):
            os.fsync(self._stream.fileno())

    def _write_guarded(self, write: Callable[[], T]) -> T:
        try:
            return write()
        except Exception as error:
            raise self._fail(error, "write to") from error

    def _fail(self, error: BaseException, verb: str) -> AuditWriteError:
        self._failure = self.masker.mask_text(_describe(error))
        return AuditWriteError(
            f"Could not {verb} the audit log {self.path}: {self._failure}. The run stops rather than go on "
            "unaudited; free disk space or fix the permissions of that folder, then run it again."
        )


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror} (errno {error.errno})"
    return str(error) or type(error).__name__


def _close_quietly(stream: IO[bytes]) -> None:
    try:
        stream.close()
    except OSError:
        pass
