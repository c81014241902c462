"""Bastidor's audit trail: a hash-chained JSON Lines log per run, secret masking, and its verifier.

- `AuditLog` writes one canonical, masked, hash-chained record per event and fails closed
  (`AuditWriteError`) when the file cannot be written.
- `SecretMasker` masks secret values and sensitive keys in text and nested data.
- `verify_audit_log` proves a log was not altered, or names the exact record that was.
"""

from bastidor.audit.canonical import ZERO_HASH, canonical_json, record_hash, to_jsonable
from bastidor.audit.errors import AuditWriteError
from bastidor.audit.log import AuditLog
from bastidor.audit.masking import MASK, SecretMasker, looks_sensitive
from bastidor.audit.verify import AuditProblem, VerifyResult, format_result, verify_audit_log

__all__ = [
    "MASK",
    "ZERO_HASH",
    "AuditLog",
    "AuditProblem",
    "AuditWriteError",
    "SecretMasker",
    "VerifyResult",
    "canonical_json",
    "format_result",
    "looks_sensitive",
    "record_hash",
    "to_jsonable",
    "verify_audit_log",
]
