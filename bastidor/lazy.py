"""Package exports imported on first use.

A package's `__init__` that imports all of its modules makes every `from package import Name` pay for the
whole package: the run store's SQLAlchemy, the audit log's structlog, the scheduler's calendars. The
command line only needs a few names to show its help or check a flow, so the packages below export their
names through `lazy_exports` instead:

    __getattr__ = lazy_exports(__name__, {"AuditLog": "log", "AuditWriteError": "errors"})

`from bastidor.audit import AuditWriteError` then imports `bastidor.audit.errors` only.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports each exported name from the submodule `exports`
    names for it (and a submodule asked for as an attribute), the first time it is asked for."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            return _submodule(package, name)
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    return __getattr__


def _submodule(package: str, name: str) -> Any:
    """`package.name` as a submodule, or AttributeError when there is none."""
    full_name = f"{package}.{name}"
    if name.startswith("_"):  # dunder probes (pickle, inspect, pytest) are never submodules here
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    try:
        return importlib.import_module(full_name)
    except ModuleNotFoundError as error:
        if error.name != full_name:
            raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
