"""Serve the demo portal with uvicorn, in the foreground or on a background thread."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from bastidor.demo_portal.app import create_app
from bastidor.demo_portal.settings import PortalSettings


class PortalStartError(RuntimeError):
    """The portal could not start: the port is taken, or the server did not come up in time."""


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening socket; port 0 picks a free port. Raise PortalStartError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PortalStartError(
            f"Cannot listen on {host}:{port} ({error.strerror}): stop the program using that port "
            "or choose another port (port 0 picks a free one)."
        ) from None
    return sock


def url_for_socket(sock: socket.socket) -> str:
    """Return the http:// URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def build_server(app: Starlette) -> uvicorn.Server:
    """Return a quiet uvicorn server for the app that leaves the process's logging setup alone."""
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=3
    )
    return uvicorn.Server(config)


@dataclass
class RunningPortal:
    """A portal served on a background thread. Use ``url``; call ``stop()`` or use it as a context manager."""

    url: str
    app: Starlette
    _server: uvicorn.Server
    _thread: threading.Thread
    _socket: socket.socket

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down, free its port and close its store."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._socket.close()
        self.app.state.store.close()

    def __enter__(self) -> RunningPortal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _wait_until_serving(server: uvicorn.Server, thread: threading.Thread, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if server.started:
            return True
        if not thread.is_alive():
            return False
        time.sleep(0.02)
    return False


def start_portal(
    settings: PortalSettings, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 15.0
) -> RunningPortal:
    """Start the portal on a background thread and return once it accepts connections."""
    sock = bind_socket(host, port)
    app = create_app(settings)
    server = build_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-portal", daemon=True)
    thread.start()
    portal = RunningPortal(url_for_socket(sock), app, server, thread, sock)
    if not _wait_until_serving(server, thread, time.monotonic() + startup_timeout):
        portal.stop(timeout=2.0)
        raise PortalStartError(f"The demo portal did not start at {portal.url} within {startup_timeout:g} s.")
    with socket.create_connection(sock.getsockname()[:2], timeout=startup_timeout):
        pass
    return portal
