"""Test support for the supervisor console: a real console on real files, and signed-in clients per role.

    from console_support import make_console

    def test_something(tmp_path):
        console = make_console(tmp_path)              # home = tmp_path / "home"
        viewer = console.client("viewer")             # signed in as a new viewer
        page = viewer.get("/runs")
        viewer.post("/exceptions/1/resolve", data={"note": "done"})   # csrf_token added for you
        anonymous = console.client(None)              # not signed in
        console.close()

`make_console` is also available as the `console` fixture (closed after the test). Clients are
Starlette `TestClient`s (httpx) on the app in-process; `serve_console` serves it with uvicorn on
127.0.0.1 (for a real browser).
"""

from __future__ import annotations

import itertools
import re
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette suggests httpx2; httpx is what is installed
    from starlette.testclient import TestClient

from bastidor.console.app import ConsoleSettings, create_app
from bastidor.console.context import ConsoleContext, open_context
from bastidor.console.users import User

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2 parameters that keep tests fast (production uses argon2-cffi's defaults)."""
TEST_SECRET_KEY = "test-session-key-" + "x" * 40
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def password_for(name: str) -> str:
    """The password `Console.add_user` gives a user when none is named."""
    return f"pw-{name}-correct-horse"


class ConsoleClient(TestClient):
    """A test client that adds the session's CSRF token to every POST (pass ``csrf=False`` to leave it out)."""

    csrf_token: str | None = None
    user: User | None = None

    def post(self, url: Any, *args: Any, data: dict | None = None, csrf: bool = True, **kwargs: Any) -> Any:
        """POST `data` as a form, with the CSRF token unless `csrf` is False."""
        form = dict(data or {})
        if csrf and self.csrf_token and "csrf_token" not in form:
            form["csrf_token"] = self.csrf_token
        return super().post(url, *args, data=form, **kwargs)

    def refresh_csrf(self, page: str = "/console-support-no-such-page") -> str | None:
        """Read the session's CSRF token from a page's ``<meta name="csrf-token">``."""
        match = CSRF_META.search(self.get(page).text)
        self.csrf_token = match.group(1) if match else None
        return self.csrf_token


@dataclass
class Console:
    """A console app on real files under a temporary home folder."""

    context: ConsoleContext
    app: Starlette
    _clients: list[ConsoleClient] = field(default_factory=list)
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def home(self) -> Path:
        """The console's home folder."""
        return self.context.home

    def add_user(self, name: str, role: str, password: str | None = None) -> User:
        """Add a user straight to the user store (password: `password_for(name)` when not given)."""
        return self.context.users.add(name, role, password or password_for(name))

    def client(self, role: str | None = "viewer", *, name: str | None = None) -> ConsoleClient:
        """A client signed in as a new user of `role` (or `name`, an existing user); None: signed out."""
        client = ConsoleClient(self.app, base_url="http://testserver", follow_redirects=False)
        self._clients.append(client)
        client.refresh_csrf()
        if role is None and name is None:
            return client
        if name is None:
            name = next(f"{role}{n}" for n in self._names if self.context.users.get(f"{role}{n}") is None)
            self.add_user(name, role)
        self.sign_in(client, name, password_for(name))
        return client

    def sign_in(self, client: ConsoleClient, name: str, password: str) -> Any:
        """Sign `client` in through the login form; returns the response (303 when it worked)."""
        response = client.post("/login", data={"username": name, "password": password, "next": "/"})
        if response.status_code == 303:
            client.user = self.context.users.get(name)
            client.refresh_csrf()
        return response

    def close(self) -> None:
        """Close every client and the console's stores."""
        for client in self._clients:
            client.close()
        self.context.close()


def make_console(tmp_path: Path, *, home: Path | None = None, store: Any = None, flows_dir: Path | None = None,
                 schedules_path: Path | None = None, https_only: bool = False) -> Console:
    """A console on `home` (default ``tmp_path / "home"``); `store` replaces the home's run store."""
    home = home or tmp_path / "home"
    context = open_context(home, flows_dir or tmp_path / "flows", schedules_path or tmp_path / "schedules.yaml",
                           store=store, hasher=CHEAP_HASHER)
    app = create_app(context, ConsoleSettings(secret_key=TEST_SECRET_KEY, https_only=https_only))
    return Console(context, app)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """A console on a fresh home folder, closed after the test."""
    made = make_console(tmp_path)
    yield made
    made.close()


@contextmanager
def serve_console(console: Console) -> Iterator[str]:
    """Serve the console with uvicorn on 127.0.0.1 (a free port) in a thread; yields its URL."""
    from bastidor.demo_portal.server import bind_socket, build_server, url_for_socket

    sock = bind_socket("127.0.0.1", 0)
    server = build_server(console.app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="console", daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.02)
        yield url_for_socket(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
