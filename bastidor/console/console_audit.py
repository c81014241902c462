"""The console's audit trail: who signed in, and every action a person took, in one hash-chained log.

Records go to ``home/audit/console.jsonl`` through `bastidor.audit.AuditLog`, so the log is masked,
hash-chained and checked by ``runner.py audit verify home/audit/console.jsonl`` like a run's log. The
log is opened for each record under a file lock: the chain continues across restarts, and the console
and the ``users`` command (another process) can both write to it without breaking the chain.

It is an open-ended journal (see `bastidor.audit.kinds`): a signed checkpoint goes into it every 100
records or 30 seconds, and each time a record is written its seal goes to the log's anchor outside the
home, so records cut from its end are noticed by the verifier.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from bastidor.audit import AuditLog, SecretMasker
from bastidor.audit.journal_lock import journal_lock

CONSOLE_LOG_ID = "console"
CONSOLE_LOG_FLOW = "bastidor-console"
ACTION_EVENT = "console.action"
SIGN_IN_EVENTS = frozenset({"console.login", "console.login_failed", "console.logout"})


def console_audit_path(home: Path) -> Path:
    """Where the console audit log of this home folder lives."""
    return Path(home) / "audit" / "console.jsonl"


class ConsoleAudit:
    """Appends one record per action to the console audit log; safe across threads and processes.

    ``audit.record("alice", "exception.resolve", item_ref="ORD-7", note="called the customer")`` writes
    a ``console.action`` record with ``user``, ``action`` and the fields. Sign-in events
    (``console.login``, ``console.login_failed``, ``console.logout``) are written under their own names.
    """

    def __init__(self, path: Path, masker: SecretMasker | None = None) -> None:
        self.path = Path(path)
        self.masker = masker or SecretMasker()
        self._lock = threading.Lock()

    def record(self, user: str, action: str, **fields: Any) -> dict[str, Any]:
        """Append one record (user, action, fields); return it as written. Raises `AuditWriteError`."""
        event = action if action in SIGN_IN_EVENTS else ACTION_EVENT
        payload = {"user": user, **fields} if event != ACTION_EVENT else {"user": user, "action": action, **fields}
        with self._exclusive():
            with AuditLog.open(self.path, run_id=CONSOLE_LOG_ID, flow=CONSOLE_LOG_FLOW, flow_sha256="",
                               masker=self.masker) as log:
                return log.event(event, **payload)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._lock, journal_lock(self.path):
            yield
