"""A TCP proxy a test can cut: what a network cut between one service and PostgreSQL looks like to both.

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = proxy.url_for(pg_url)     # the same database, through the proxy
        ...
        proxy.cut()                     # every connection through it is reset; new ones are refused
        proxy.restore()                 # new connections go through again

A cut resets both ends at once, as a firewall or a NAT that drops its state does, so PostgreSQL ends the
sessions that came through it (their advisory locks go with them) and the client's next call fails. A
silent cut (packets dropped, nothing reset) is found by the TCP keepalives instead, a few seconds later.
"""

from __future__ import annotations

import socket
import struct
import threading

from sqlalchemy.engine import make_url


class TcpProxy:
    """Forwards connections on 127.0.0.1:`port` to `host`:`target_port` until cut."""

    def __init__(self, host: str, target_port: int):
        self.target = (host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="tcp-proxy").start()

    def url_for(self, url: str) -> str:
        """`url` (a database URL) through this proxy."""
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def cut(self) -> None:
        """Reset every connection through the proxy and refuse new ones until `restore`."""
        with self._lock:
            self._cut = True
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _reset(sock)

    def restore(self) -> None:
        """Let new connections through again."""
        with self._lock:
            self._cut = False

    def close(self) -> None:
        """Stop listening and reset every connection."""
        self._closed = True
        self.cut()
        self.listener.close()

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with self._lock:
                self._sockets.discard(sock)
            _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close `sock` with a reset (RST), waking any thread blocked on it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
