"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 that keeps every POST it gets.

    from webhook_support import webhook  # noqa: F401  (the fixture)

    def test_something(webhook):
        ...  # send to webhook.url
        assert webhook.posts[0].body["event"] == "run_failed"
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Post:
    """One request the webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: dict


class WebhookReceiver(ThreadingHTTPServer):
    """A real HTTP server that keeps every POST and answers with the queued statuses (then 200)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.posts: list[Post] = []
        self.statuses: list[int] = []

    @property
    def url(self) -> str:
        """The receiver's base URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's hook name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts.append(Post(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        """Quiet."""


@pytest.fixture
def webhook():
    """A real webhook receiver on 127.0.0.1."""
    receiver = WebhookReceiver()
    thread = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    receiver.shutdown()
    receiver.server_close()
