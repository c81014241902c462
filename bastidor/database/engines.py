"""One SQLAlchemy engine per PostgreSQL URL per process, shared by the queue, the run store and the console.

Every store of a process talks to the same database, so they share one small connection pool instead of
opening one each. Connections are checked before use (`pool_pre_ping`), so a pool that outlived a
PostgreSQL restart or a network cut reconnects instead of failing on a dead socket. After a fork the
child makes its own engine: connections never cross processes.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from sqlalchemy import Engine, create_engine

from bastidor.audit.canonical import to_jsonable

CONNECT_TIMEOUT_S = 5
POOL_SIZE = 4
MAX_OVERFLOW = 8

_engines: dict[tuple[int, str], Engine] = {}
_lock = threading.Lock()


def postgres_engine(url: str) -> Engine:
    """The process's shared engine for `url` (made on first use). Do not dispose it: call `close_engines`."""
    key = (os.getpid(), url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_engine(
                url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_recycle=1800,
                json_serializer=_dumps_json, connect_args={"connect_timeout": CONNECT_TIMEOUT_S,
                                                           "application_name": "bastidor"})
            _engines[key] = engine
        return engine


def close_engines() -> None:
    """Close this process's pooled connections (at exit, or in tests between databases)."""
    with _lock:
        for (pid, _url), engine in list(_engines.items()):
            if pid == os.getpid():
                engine.dispose()
        _engines.clear()


def _dumps_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False)
