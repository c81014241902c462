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
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
             "tcp_user_timeout": 30_000}
"""libpq's TCP settings: a connection whose peer went silent (a network cut, a host that died without closing
its sockets) is declared dead after about 25 s idle or 30 s of unacknowledged sending, instead of the
operating system's default of over two hours, so a service notices and reconnects."""
SESSION_OPTIONS = "-c idle_in_transaction_session_timeout=30000"
"""A transaction left open by a process that was cut off (it holds row locks) is ended by the server after
30 s; Bastidor's own transactions are a few statements long."""
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
                json_serializer=dumps_json, connect_args={"connect_timeout": CONNECT_TIMEOUT_S,
                                                           "application_name": "bastidor", "options": SESSION_OPTIONS,
                                                           **KEEPALIVE})
            _engines[key] = engine
        return engine


def close_engines() -> None:
    """Close this process's pooled connections (at exit, or in tests between databases)."""
    with _lock:
        for (pid, _url), engine in list(_engines.items()):
            if pid == os.getpid():
                engine.dispose()
        _engines.clear()


def dumps_json(value: Any) -> str:
    """JSON for the database's JSON columns (every store's engine uses it): dates, decimals and the like as
    the audit log writes them, non-ASCII text kept as is."""
    return json.dumps(to_jsonable(value), ensure_ascii=False)
