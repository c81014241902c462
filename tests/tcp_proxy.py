"""A TCP proxy a test can cut: what a network cut between a client and PostgreSQL looks like to both.

    with TcpProxy.in_front_of(pg_url) as proxy:
        url = proxy.url_for(pg_url)     # the same database, through the proxy
        ...
        proxy.cut()                     # every connection through it is reset; new ones are reset at once
        proxy.cut(refuse=True)          # ... or refused outright (the port is closed)
        proxy.restore()                 # new connections go through again
        proxy.drop_next_commit()        # the next COMMIT never reaches the server
        proxy.lose_next_commit_reply()  # the next COMMIT is done, but its reply never reaches the client

A cut resets both ends at once, as a firewall or a NAT that drops its state does, so PostgreSQL ends the
sessions that came through it (their advisory locks go with them) and the client's next call fails. A
silent cut (packets dropped, nothing reset) is found by the TCP keepalives instead, a few seconds later.

Tests that want one proxy in front of their database take the `proxy` fixture (import it from here).
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import make_url

COMMIT = b"COMMIT"


@dataclass(frozen=True)
class _Trap:
    """What to do when a client sends `message`."""

    message: bytes
    deliver: bool  # send it on and swallow the server's reply, or never send it on
    once: bool  # disarm after springing once, or spring on every connection that sends it
    stay_cut: bool  # cut the proxy when it springs, or hang up on that one connection only

    def sprung_by(self, before: bytes, chunk: bytes) -> bool:
        """True when `chunk` (after `before`, what the same client sent earlier) completes `message`."""
        carry = len(self.message) - 1
        return self.message in (before[-carry:] if carry else b"") + chunk


class _Link:
    """One client connection and the proxy's connection to the server for it."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.reply_lost = False  # the server's next reply is swallowed and the link hung up on
        self.stay_cut = False  # ... and the whole proxy cut with it


class TcpProxy:
    """Forwards connections on 127.0.0.1:`port` to `host`:`target_port`, until cut.

    `cut()` resets every connection through it and, until `restore()`, resets new ones as soon as they are
    accepted (counting them in `turned_away`) or, with ``refuse=True``, refuses them (the port is closed and
    opened again on `restore`). A trap hangs up on a connection when its client sends a given message:
    `drop_next_commit` before the server gets the next COMMIT, `lose_next_commit_reply` after the server
    answered it, `drop_every` on every connection that sends a message; `traps_sprung` counts how often a
    trap hung up. Closed on leaving a ``with`` block.
    """

    def __init__(self, host: str, target_port: int) -> None:
        self.target = (host, target_port)
        self.port = 0
        self.turned_away = 0
        """Connections accepted and reset at once because the proxy was cut."""
        self.traps_sprung = 0
        """How many times a trap hung up on a connection."""
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._cut = False
        self._closed = False
        self._trap: _Trap | None = None
        self._listen()

    @classmethod
    def in_front_of(cls, database_url: str) -> TcpProxy:
        """A proxy to the server of `database_url` (a database URL)."""
        url = make_url(database_url)
        return cls(url.host or "127.0.0.1", url.port or 5432)

    def url_for(self, database_url: str, *, password: str | None = None) -> str:
        """`database_url` (a database URL) through this proxy, with `password` set when given."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return (url.set(password=password) if password else url).render_as_string(hide_password=False)

    def cut(self, *, refuse: bool = False) -> None:
        """Reset every connection through the proxy; until `restore`, reset new ones as soon as they are
        accepted (counted in `turned_away`), or with `refuse` close the port so that they are refused."""
        with self._lock:
            self._cut = True
            links, self._links = self._links, set()
            listener, self._listener = (self._listener, None) if refuse else (None, self._listener)
        if listener is not None:
            _close_listener(listener)
        for link in links:
            _reset(link.client)
            _reset(link.server)

    def restore(self) -> None:
        """Let new connections through again (on the same port, which a refusing cut closed)."""
        with self._lock:
            self._cut = False
        if not self._closed:
            self._listen()

    def drop_next_commit(self, *, stay_cut: bool = False) -> None:
        """Hang up on the connection that next sends COMMIT, before the server gets it (so the server rolls
        the transaction back and the client never hears); with `stay_cut`, `cut()` the proxy as well."""
        self._arm(_Trap(COMMIT, deliver=False, once=True, stay_cut=stay_cut))

    def lose_next_commit_reply(self, *, stay_cut: bool = False) -> None:
        """Send the next COMMIT on to the server, then hang up on its connection as soon as the server answers
        (the change is committed, the client never hears so); with `stay_cut`, `cut()` the proxy as well."""
        self._arm(_Trap(COMMIT, deliver=True, once=True, stay_cut=stay_cut))

    def drop_every(self, message: bytes) -> None:
        """From now on, hang up on every connection whose client sends `message`, before the server gets it."""
        self._arm(_Trap(message, deliver=False, once=False, stay_cut=False))

    def close(self) -> None:
        """Stop listening and reset every connection."""
        self._closed = True
        self.cut(refuse=True)

    def __enter__(self) -> TcpProxy:
        """The proxy itself, closed when the ``with`` block ends."""
        return self

    def __exit__(self, *exc: object) -> None:
        """`close` the proxy."""
        self.close()

    def _arm(self, trap: _Trap) -> None:
        with self._lock:
            self._trap = trap

    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            self._listener = listener = socket.create_server(("127.0.0.1", self.port))
            self.port = listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="tcp-proxy").start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._cut:
                self.turned_away += 1
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            link = _Link(client, server)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._to_server, args=(link,), daemon=True).start()
            threading.Thread(target=self._to_client, args=(link,), daemon=True).start()

    def _to_server(self, link: _Link) -> None:
        sent = b""
        while chunk := _receive(link.client):
            trap = self._spring(sent, chunk)
            if trap is not None and not trap.deliver:
                self._hang_up(link, cut=trap.stay_cut)
                return
            if trap is not None:
                link.stay_cut, link.reply_lost = trap.stay_cut, True
            try:
                link.server.sendall(chunk)
            except OSError:
                break
            sent = (sent + chunk)[-1024:]
        self._hang_up(link, cut=False)

    def _to_client(self, link: _Link) -> None:
        while chunk := _receive(link.server):
            if link.reply_lost:
                self._hang_up(link, cut=link.stay_cut)
                return
            try:
                link.client.sendall(chunk)
            except OSError:
                break
        self._hang_up(link, cut=False)

    def _spring(self, sent: bytes, chunk: bytes) -> _Trap | None:
        """The armed trap, when `chunk` springs it (disarming a one-time trap), else None."""
        with self._lock:
            trap = self._trap
            if trap is None or not trap.sprung_by(sent, chunk):
                return None
            if trap.once:
                self._trap = None
            self.traps_sprung += 1
            return trap

    def _hang_up(self, link: _Link, *, cut: bool) -> None:
        if cut:
            self.cut()
        with self._lock:
            self._links.discard(link)
        _reset(link.client)
        _reset(link.server)


@pytest.fixture
def proxy(pg_url) -> Iterator[TcpProxy]:
    """A `TcpProxy` in front of this test's PostgreSQL server, closed after the test."""
    with TcpProxy.in_front_of(pg_url) as running:
        yield running


def _receive(sock: socket.socket) -> bytes:
    """The next bytes from `sock`, or b"" once it is closed or reset."""
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _reset(sock: socket.socket) -> None:
    """Close `sock` with a reset (RST), waking any thread blocked on it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _close_listener(listener: socket.socket) -> None:
    """Stop listening, waking the thread blocked in `accept`."""
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    listener.close()
