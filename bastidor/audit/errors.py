"""Errors raised by the audit log."""


class AuditWriteError(RuntimeError):
    """The audit log could not be written, so the run must stop: it may never continue unaudited."""
