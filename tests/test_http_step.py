"""The `http_request` step against a real HTTP server on 127.0.0.1, in real flow runs.

The server is a small `http.server` in a thread, one per test, whose answers each test scripts: JSON to read,
a body to echo, a 503 before a 200, a 429 with `Retry-After`, a 404.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bastidor.connectors.http_client import retry_after_seconds

REPO = Path(__file__).resolve().parents[1]
TOKEN = "tok-9f8e7d6c5b4a-never-shown"


class ScriptedServer:
    """A local HTTP server: `answers[path]` is a list of (status, headers, body) served in turn (the last one
    repeats); every request is kept in `seen` with its time, method, path, headers and body."""

    def __init__(self):
        self.answers: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.seen: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                server.seen.append({"at": time.monotonic(), "method": self.command, "path": self.path,
                                    "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                queue = server.answers.get(path)
                if not queue:
                    status, headers, content = 404, {"Content-Type": "text/plain"}, b"nothing here"
                else:
                    status, headers, content = queue.pop(0) if len(queue) > 1 else queue[0]
                if callable(content):
                    content = content(self, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path: str, *responses: tuple[int, dict, bytes]) -> None:
        self.answers[path] = list(responses)


def _json(status: int, value, **headers) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(value).encode()


@pytest.fixture
def server():
    running = ScriptedServer()
    running.thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


def _flow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _everything_written(tmp_path: Path) -> str:
    """Every file the run left behind (audit log, run store, run folder), as text, for grepping."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()
                     and p.name != "flow.yaml")


def _step_result(run, action: str = "http_request") -> dict:
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return [r for r in records if r.get("event") == "step" and r.get("action") == action][-1]


def test_get_json_into_a_variable(server, run_flow_file, tmp_path):
    server.answer("/api/orders", _json(200, {"orders": [{"number": "SO-1", "total": 12.5}], "count": 1},
                                       **{"X-Request-Id": "abc"}))
    flow = _flow(tmp_path, f"""
name: Read orders
bot: {{base_url: "{server.url}"}}
steps:
  - http_request: {{url: /api/orders, query: {{status: open, limit: 5}}, into: answer}}
  - set:
      first: "{{{{ answer.json.orders[0].number }}}}"
  - assert: "{{{{ answer.status == 200 and first == 'SO-1' and answer.json.count == 1 }}}}"
  - assert: "{{{{ answer.headers['x-request-id'] == 'abc' and not answer.truncated }}}}"
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert server.seen[0]["path"] == "/api/orders?status=open&limit=5"
    record = _step_result(run)
    assert record["result"]["status"] == 200 and record["result"]["method"] == "GET"
    assert record["result"]["url"] == f"{server.url}/api/orders"
    assert '"SO-1"' in record["result"]["body"] and record["result"]["size"] > 0


def test_post_json(server, run_flow_file, tmp_path):
    server.answer("/echo", (201, {"Content-Type": "application/json"}, lambda handler, body: body))
    flow = _flow(tmp_path, f"""
name: Post an invoice
steps:
  - set:
      amount: "{{{{ decimal('1234.50') }}}}"
  - http_request:
      method: post
      url: {server.url}/echo
      headers: {{X-Source: bastidor}}
      json: {{invoice: INV-7, amount: "{{{{ amount }}}}", lines: [1, 2]}}
      into: created
  - assert: "{{{{ created.status == 201 and created.json.invoice == 'INV-7' and created.json.amount == 1234.5 }}}}"
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    sent = server.seen[0]
    assert sent["method"] == "POST" and sent["headers"]["content-type"] == "application/json"
    assert sent["headers"]["x-source"] == "bastidor"
    assert json.loads(sent["body"]) == {"invoice": "INV-7", "amount": 1234.5, "lines": [1, 2]}


def test_bearer_secret_never_written(server, run_flow_file, tmp_path):
    def echo_auth(handler, body):
        return json.dumps({"you_sent": handler.headers.get("Authorization")}).encode()

    server.answer("/secure", (200, {"Content-Type": "application/json"}, echo_auth))
    server.answer("/denied", (403, {"Content-Type": "text/plain"},
                              lambda handler, body: f"token {handler.headers['Authorization']} refused".encode()))
    flow = _flow(tmp_path, f"""
name: Signed in
secrets: [ERP_TOKEN]
steps:
  - http_request: {{url: "{server.url}/secure", auth: {{bearer: ERP_TOKEN}}, into: answer}}
  - log: "{{{{ answer.json.you_sent }}}}"
  - http_request: {{url: "{server.url}/denied", auth: {{bearer: ERP_TOKEN}}}}
""")
    run = run_flow_file(flow, secrets={"ERP_TOKEN": TOKEN})
    assert server.seen[0]["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert run.result.status == "failed"
    assert TOKEN not in run.result.error
    assert "answered 403" in run.result.error and "token Bearer *** refused" in run.result.error
    failed = _step_result(run)
    assert failed["outcome"] == "failed" and failed["result"]["status"] == 403
    assert failed["result"]["body"] == "token Bearer *** refused"
    run.store.close()
    written = _everything_written(tmp_path)
    assert "runs.db" in {p.name for p in tmp_path.rglob("*")} and "audit.jsonl" in {p.name for p in
                                                                                    tmp_path.rglob("*")}
    assert TOKEN not in written
    assert "Bearer ***" in written


def test_a_named_api_gives_its_base_address_headers_and_sign_in_to_each_request(server, run_flow_file, tmp_path):
    server.answer("/erp/v2/orders", (200, {"Content-Type": "application/json"},
                                     lambda handler, body: json.dumps({"auth": handler.headers["Authorization"],
                                                                       "client": handler.headers["X-Client"]}).encode()))
    flow = _flow(tmp_path, f"""
name: Named API
secrets: [ERP_TOKEN]
apis:
  erp: {{base_url: "{server.url}/erp/v2", auth: {{bearer: ERP_TOKEN}}, headers: {{X-Client: bastidor}}}}
steps:
  - http_request: {{api: erp, url: orders, into: answer}}
  - assert: "{{{{ answer.json.client == 'bastidor' }}}}"
  - http_request: {{api: erp, url: "https://elsewhere.example.com/steal"}}
""")
    run = run_flow_file(flow, secrets={"ERP_TOKEN": TOKEN})
    assert [seen["path"] for seen in server.seen] == ["/erp/v2/orders"]
    assert server.seen[0]["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert run.result.status == "failed" and "is a path under its base_url" in run.result.error
    run.store.close()
    assert TOKEN not in _everything_written(tmp_path)


def test_validate_names_an_undeclared_api_and_an_undeclared_secret_of_a_declared_one(tmp_path):
    flow = tmp_path / "apis.yaml"
    flow.write_text("name: APIs\nsecrets: [ERP_USER]\napis:\n"
                    "  erp: {base_url: 'https://erp.example.com/api', auth: {bearer: ERP_TOKEN}}\n"
                    "steps:\n  - http_request: {api: epr, url: /orders}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "runner.py", "validate", str(flow)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"{flow}:4:65: secret 'ERP_TOKEN' is not declared" in out
    assert f"{flow}:6:25: api 'epr' is not declared under `apis:` in the flow's header, did you mean 'erp'?" in out


def test_basic_auth_encoded_pair_is_masked(server, run_flow_file, tmp_path):
    def echo_auth(handler, body):
        return json.dumps({"you_sent": handler.headers.get("Authorization")}).encode()

    server.answer("/basic", (200, {"Content-Type": "application/json"}, echo_auth))
    flow = _flow(tmp_path, f"""
name: Basic
secrets: [API_USER, API_PASSWORD]
steps:
  - http_request: {{url: "{server.url}/basic", auth: {{basic: {{user: API_USER, password: API_PASSWORD}}}}}}
""")
    run = run_flow_file(flow, secrets={"API_USER": "robot", "API_PASSWORD": "pa55-w0rd-xyz"})
    assert run.result.status == "succeeded", run.result.error
    import base64

    encoded = base64.b64encode(b"robot:pa55-w0rd-xyz").decode()
    assert server.seen[0]["headers"]["authorization"] == f"Basic {encoded}"
    assert _step_result(run)["result"]["body"] == '{"you_sent": "Basic ***"}'
    assert encoded not in run.audit_text and "pa55-w0rd-xyz" not in run.audit_text


def test_503_then_200_is_retried(server, run_flow_file, tmp_path):
    server.answer("/flaky", (503, {"Content-Type": "text/plain"}, b"busy"), _json(200, {"ok": True}))
    flow = _flow(tmp_path, f"""
name: Flaky
steps:
  - http_request: {{url: "{server.url}/flaky", into: answer}}
  - assert: "{{{{ answer.json.ok }}}}"
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert len(server.seen) == 2
    result = _step_result(run)["result"]
    assert result["attempts"] == 2 and result["waited_s"] == [0.5]


def test_429_retry_after_is_honoured(server, tmp_path):
    server.answer("/limited", (429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"),
                  _json(200, {"ok": True}))
    flow = _flow(tmp_path, f"""
name: Rate limited
steps:
  - http_request: {{url: "{server.url}/limited", into: answer}}
  - assert: "{{{{ answer.status == 200 }}}}"
""")
    from bastidor.executor.run import RunOptions, run_flow
    from bastidor.flow.loader import load_flow
    from bastidor.secrets import default_secrets
    from bastidor.store import open_run_store

    store = open_run_store(tmp_path / "runs.db")
    try:  # real sleeping here, to see the server's two requests a second apart
        result = run_flow(load_flow(flow), RunOptions(home=tmp_path / "home", secrets=default_secrets(extra={}),
                                                      sleep=time.sleep), store)
    finally:
        store.close()
    assert result.status == "succeeded", result.error
    assert len(server.seen) == 2
    assert server.seen[1]["at"] - server.seen[0]["at"] >= 0.95


def test_4xx_is_not_retried_and_fails_clearly(server, run_flow_file, tmp_path):
    server.answer("/api/orders/SO-9", _json(404, {"detail": "no order SO-9"}))
    flow = _flow(tmp_path, f"""
name: Missing
bot: {{base_url: "{server.url}"}}
steps:
  - http_request: {{method: DELETE, url: /api/orders/SO-9, retries: 3}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert len(server.seen) == 1
    assert run.result.error == (f'DELETE {server.url}/api/orders/SO-9 answered 404 Not Found: '
                                f'{{"detail": "no order SO-9"}}')
    assert "\n" not in run.result.error


def test_fail_on_error_false_lets_the_flow_decide(server, run_flow_file, tmp_path):
    server.answer("/gone", (500, {"Content-Type": "text/plain"}, b"x" * 5000))
    flow = _flow(tmp_path, f"""
name: Inspect
steps:
  - http_request: {{url: "{server.url}/gone", retries: 1, fail_on_error: false, into: answer}}
  - if: "{{{{ answer.status >= 500 }}}}"
    then:
      - set: {{verdict: down}}
    else:
      - set: {{verdict: up}}
  - assert: "{{{{ verdict == 'down' and answer.json == null and len(answer.text) == 5000 }}}}"
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert len(server.seen) == 2
    result = _step_result(run, "http_request")["result"]
    assert result["status"] == 500 and result["size"] == 5000
    assert len(result["body"]) == 2048 and result["body_cut"] == "first 2048 of 5000 characters"


def test_unreachable_host_fails_with_one_line(run_flow_file, tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    flow = _flow(tmp_path, f"""
name: Nobody home
steps:
  - http_request: {{url: "http://user:hunter2-pass@127.0.0.1:{port}/x", retries: 1}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert run.result.error.startswith(f"GET http://127.0.0.1:{port}/x could not connect (after 2 attempts)")
    assert "hunter2" not in run.result.error


def test_retry_after_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("9999") == 60.0
    assert retry_after_seconds("soon") is None
    import datetime as dt

    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:05 GMT", now=lambda: now) == 5.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now=lambda: now) == 0.0


def test_validate_points_at_an_undeclared_secret_in_auth(tmp_path):
    flow = tmp_path / "undeclared.yaml"
    flow.write_text("name: Undeclared\nsecrets: [ERP_USER]\nsteps:\n"
                    "  - http_request:\n"
                    "      url: https://erp.example.com/api\n"
                    "      auth: {bearer: ERP_TOKEN}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "runner.py", "validate", str(flow)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert f"{flow}:6:22: secret 'ERP_TOKEN' is not declared" in done.stdout + done.stderr


def test_the_documented_example_runs_against_the_demo_portal(fresh_portal, run_flow_file, tmp_path):
    text = (REPO / "docs" / "flow-language.md").read_text(encoding="utf-8")
    start = text.index("```yaml\nname: Check the portal's stock and switches") + len("```yaml\n")
    flow = _flow(tmp_path, text[start:text.index("```", start)])
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "succeeded", run.result.error
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    logged = [r["result"]["message"] for r in records if r.get("event") == "step" and r.get("action") == "log"]
    assert logged[0].startswith("First product ") and logged[0].endswith("an unknown address answers 404")
