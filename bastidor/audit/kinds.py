"""The kinds of audit log and how each one ends, found from the ``flow`` field of its records.

- A **run log** (``runs/<run id>/audit.jsonl``, ``flow`` is the flow's name) ends with ``run.finished``
  followed by the checkpoint that closes it.
- A **service log** (``service/service-*.jsonl``, ``flow`` is ``bastidor-service``) ends the same way,
  with ``run.finished`` status ``stopped``, unless the service was killed.
- A **journal** (``audit/console.jsonl`` and ``service/triggers.jsonl``) never ends: each process that
  writes to it opens it, appends a record and closes it again, so no ``run.finished`` is expected.

The writer (`bastidor.audit.checkpoints`) and the verifier (`bastidor.audit.verify`) both follow these
rules, so a log is always checked by the rules it was written under.
"""

from __future__ import annotations

from dataclasses import dataclass

END_EVENT = "run.finished"
"""The event that ends run and service logs."""

CHECKPOINT_EVENT = "audit.checkpoint"
"""A signed checkpoint, written by the log itself (see `bastidor.audit.checkpoints`)."""

UNSIGNED_EVENT = "audit.unsigned"
"""Written by the log itself when it has no signing key: the records after it are not signed, and why."""

OWN_EVENTS = frozenset({CHECKPOINT_EVENT, UNSIGNED_EVENT})
"""Events only the log may write; `AuditLog.event` refuses them."""

SERVICE_FLOW = "bastidor-service"
JOURNAL_FLOWS = frozenset({"bastidor-console", "bastidor-triggers"})


@dataclass(frozen=True)
class LogKind:
    """A kind of audit log: its name for people, and whether it ever ends."""

    name: str
    description: str
    open_ended: bool

    @property
    def end_event(self) -> str | None:
        """The event a complete log of this kind ends with (None for journals)."""
        return None if self.open_ended else END_EVENT


RUN_LOG = LogKind("run", "run log", open_ended=False)
SERVICE_LOG = LogKind("service", "service log", open_ended=False)
JOURNAL = LogKind("journal", "open-ended journal", open_ended=True)


def kind_of(flow: object) -> LogKind:
    """The kind of a log whose records carry ``flow``."""
    if flow in JOURNAL_FLOWS:
        return JOURNAL
    if flow == SERVICE_FLOW:
        return SERVICE_LOG
    return RUN_LOG
