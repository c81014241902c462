"""The REST API for other systems (/api/v1 under the console): tokens made, listed and revoked on the command
line; no route answers without a valid token; roles; runs started through the queue and picked up by a real
`serve`; work items added all or none, a duplicate reference refused with 409; rate limits with Retry-After;
every call in the console audit log (never the token); errors as JSON, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import Console, TestClient, make_console
from service_support import kill_leftover_services, serve, stop, wait_until

from bastidor.cli.main import main
from bastidor.console.api.guard import MAX_BODY_BYTES
from bastidor.console.api.openapi import openapi_document
from bastidor.console.api.ratelimit import RateLimiter
from bastidor.console.tokens import TOKEN_PREFIX, tokens_table
from bastidor.queue import QueueError

ORDERS_FLOW = """name: API orders
inputs:
  batch: {type: text, default: none}
steps:
  - log: "batch {{ batch }}"
  - read_csv: {path: orders.csv, into: orders}
  - for_each_item: "{{ orders }}"
    as: order
    item_ref: "{{ order.ref }}"
    steps:
      - log: "order {{ order.ref }} qty {{ order.qty }}"
"""
QUIET_SCHEDULES = ("schedules:\n  - id: never\n    flow: flows/orders.yaml\n    trigger: {cron: '0 3 1 1 *'}\n"
                   "    enabled: false\n")
SAMPLE_BODIES = {
    "/api/v1/runs": {"flow": "API orders", "inputs": {"batch": "b1"}},
    "/api/v1/queues/{flow}/items": {"items": [{"reference": "X-1"}]},
}


# --- support ---------------------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Console]:
    """A console (home tmp_path/home) whose flows folder holds the `API orders` flow with one order in its CSV."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "orders.yaml").write_text(ORDERS_FLOW, encoding="utf-8")
    (flows / "orders.csv").write_text("ref,qty\nC-1,5\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(QUIET_SCHEDULES, encoding="utf-8")
    console = make_console(tmp_path, flows_dir=flows, schedules_path=tmp_path / "schedules.yaml")
    yield console
    console.close()


def token_for(console: Console, role: str, name: str | None = None) -> str:
    """A new token of `role` (named after the role unless `name` is given)."""
    _token, secret = console.app.state.api.state.api_tokens.add(name or f"{role}-system", role)
    return secret


def client_for(console: Console, token: str | None) -> TestClient:
    """An HTTP client on the console that sends `token` as a bearer token (nothing when None), no cookies kept."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(console.app, base_url="http://testserver", headers=headers, raise_server_exceptions=False)


def audit_records(console: Console) -> list[dict]:
    """Every record of the console audit log."""
    path = console.home / "audit" / "console.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def api_calls(console: Console) -> list[dict]:
    """The console audit log's ``api.call`` records."""
    return [record for record in audit_records(console) if record.get("action") == "api.call"]


def every_route_and_method(console: Console) -> list[tuple[str, str]]:
    """(method, address) of every route the API app serves, with its path parameters filled in."""
    found = []
    for route in console.app.state.api.routes:
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path.replace("{flow:path}", "API orders").replace("{id}", "1")))
    return found


def assert_json_error(response: Any, status: int, error: str) -> dict:
    """The response is the JSON error body with this status and code, a one-line detail and no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error and body["detail"] and "\n" not in body["detail"]
    assert "Traceback" not in response.text
    return body


def break_audit_log(console: Console) -> None:
    """Make the console audit log unwritable (a folder where the file should be), as a full disk would."""
    path = console.home / "audit" / "console.jsonl"
    path.unlink(missing_ok=True)
    path.mkdir(parents=True)


def tokens_cmd(console: Console, capsys, *args: str) -> tuple[int, str, str]:
    """`runner.py --home HOME tokens ARGS` in-process: exit code, standard output, standard error."""
    code = main(["--home", str(console.home), "tokens", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- tokens on the command line ------------------------------------------------------------------------------


def test_tokens_add_prints_the_token_once_keeps_only_its_hash_and_list_never_shows_it(api, capsys):
    code, out, err = tokens_cmd(api, capsys, "add", "erp-orders", "--role", "operator")
    assert code == 0 and "shown only this once" in err
    token = out.strip()
    assert token.startswith(TOKEN_PREFIX) and len(token) >= 40 and "\n" not in token

    with api.context.db.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(tokens_table.select())]
    assert [(row["name"], row["role"]) for row in rows] == [("erp-orders", "operator")]
    assert token not in json.dumps(rows, default=str) and len(rows[0]["token_hash"]) == 64
    assert token.encode() not in (api.home / "console.db").read_bytes()

    code, out, _ = tokens_cmd(api, capsys, "list")
    assert code == 0 and "erp-orders" in out and "operator" in out and "never" in out and token not in out
    assert client_for(api, token).get("/api/v1/runs/999").status_code == 404  # works: nothing there yet
    code, out, _ = tokens_cmd(api, capsys, "list")
    assert "never" not in out.splitlines()[1]  # last used is now known

    assert token not in (api.home / "audit" / "console.jsonl").read_text()
    assert [(r["action"], r["name"]) for r in audit_records(api) if r.get("action", "").startswith("token.")] == [
        ("token.add", "erp-orders")]


def test_a_revoked_token_is_refused_at_once(api, capsys):
    _, out, _ = tokens_cmd(api, capsys, "add", "erp", "--role", "viewer")
    client = client_for(api, out.strip())
    assert client.get("/api/v1/runs/1").status_code == 404
    code, out, _ = tokens_cmd(api, capsys, "revoke", "erp")
    assert code == 0 and "revoked erp" in out
    assert_json_error(client.get("/api/v1/runs/1"), 401, "unauthorized")
    code, _, err = tokens_cmd(api, capsys, "revoke", "erp")
    assert code == 2 and "no token named 'erp'" in err


def test_tokens_add_refuses_a_taken_name_and_a_bad_name_in_one_line(api, capsys):
    tokens_cmd(api, capsys, "add", "erp", "--role", "viewer")
    code, out, err = tokens_cmd(api, capsys, "add", "erp", "--role", "admin")
    assert code == 2 and out == "" and "already a token named 'erp'" in err and len(err.splitlines()) == 1
    code, out, err = tokens_cmd(api, capsys, "add", "has space", "--role", "admin")
    assert code == 2 and out == "" and "not a valid token name" in err


def test_a_token_is_not_made_when_its_audit_record_cannot_be_written(api, capsys):
    break_audit_log(api)
    code, out, err = tokens_cmd(api, capsys, "add", "erp", "--role", "admin")
    assert code == 3 and out == "" and "not done" in err
    assert api.app.state.api.state.api_tokens.list() == []


# --- no route answers without a token -------------------------------------------------------------------------


def test_every_route_of_the_api_is_documented_in_the_openapi_document(api):
    served = {(method, route.path.replace("{flow:path}", "{flow}")) for route in api.app.state.api.routes
              for method in route.methods - {"HEAD"}}
    documented = {(method.upper(), path) for path, operations in openapi_document()["paths"].items()
                  for method in operations}
    assert served == documented and len(served) == 5


@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer bst_not-a-real-token",
                                           "Bearer not-even-the-prefix", "Bearer " + "x" * 5000])
def test_no_route_of_the_api_answers_without_a_valid_token(api, authorization):
    token_for(api, "admin")  # a real token exists; it is not sent
    client = client_for(api, None)
    headers = {"Authorization": authorization} if authorization else {}
    addresses = [*every_route_and_method(api), ("GET", "/api/v1/nothing-here"), ("GET", "/api"),
                 ("GET", "/api/v2/runs"), ("DELETE", "/api/v1/runs/1"), ("POST", "/api/v1/openapi.json")]
    assert len(addresses) == 10
    for method, address in addresses:
        response = client.request(method, address, headers=headers, json=SAMPLE_BODIES.get(address, {}))
        body = assert_json_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith('Bearer realm="bastidor"'), address
        assert set(body) == {"error", "detail"} and "set-cookie" not in response.headers
    assert api.context.queue.list_runs() == [] and api.context.queue.items("API orders") == []


def test_a_refused_call_says_how_to_send_a_token_and_a_bad_one_is_marked_invalid_token(api):
    missing = client_for(api, None).get("/api/v1/runs/1")
    assert "Authorization: Bearer" in missing.json()["detail"] and "invalid_token" not in missing.headers[
        "www-authenticate"]
    wrong = client_for(api, "bst_wrong").get("/api/v1/runs/1")
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"] and "not valid" in wrong.json()["detail"]


def test_a_console_session_cookie_does_not_open_the_api(api):
    signed_in = api.client("admin")
    assert_json_error(signed_in.get("/api/v1/runs/1"), 401, "unauthorized")
    assert_json_error(signed_in.post("/api/v1/runs", data={}), 401, "unauthorized")


# --- roles ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, may_act", [("viewer", False), ("operator", True), ("admin", True)])
def test_a_viewer_token_reads_and_an_operator_token_also_starts_runs_and_adds_items(api, role, may_act):
    client = client_for(api, token_for(api, role))
    started = client.post("/api/v1/runs", json={"flow": "API orders"})
    added = client.post("/api/v1/queues/API orders/items", json={"items": [{"reference": "A-1"}]})
    if may_act:
        assert (started.status_code, added.status_code) == (202, 201)
    else:
        for response in (started, added):
            assert "needs a token with the operator role" in assert_json_error(response, 403, "forbidden")["detail"]
        assert api.context.queue.list_runs() == [] and api.context.queue.items("API orders") == []
    for address in ("/api/v1/runs/1", "/api/v1/items/1"):
        assert client.get(address).status_code == (200 if may_act else 404)
    assert client.get("/api/v1/openapi.json").json()["openapi"] == "3.1.0"


# --- runs ---------------------------------------------------------------------------------------------------------


def test_a_run_started_through_the_api_is_queued_with_its_inputs_like_runner_trigger(api):
    client = client_for(api, token_for(api, "operator", "erp"))
    response = client.post("/api/v1/runs", json={"flow": "API orders", "inputs": {"batch": "B-7"}})
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued" and body["flow"] == "API orders" and body["flow_path"] == "orders.yaml"
    assert response.headers["location"] == body["links"]["self"] == f"/api/v1/runs/{body['id']}"
    queued = api.context.queue.get_run(body["id"])
    assert (queued.inputs, queued.state, queued.requested_by) == ({"batch": "B-7"}, "queued", "api:erp")
    assert Path(queued.flow_path) == api.context.flows_dir / "orders.yaml"
    triggers = (api.home / "service" / "triggers.jsonl").read_text()
    assert body["key"] in triggers and "api:erp" in triggers

    by_path = client.post("/api/v1/runs", json={"flow": "orders.yaml"})
    assert by_path.status_code == 202 and by_path.json()["id"] != body["id"]
    status = client.get(body["links"]["self"]).json()
    assert (status["state"], status["run_id"], status["items"], status["links"]["report"]) == (
        "queued", None, None, None)


@pytest.mark.parametrize("body, status, error, says", [
    ({"flow": "No such flow"}, 404, "not_found", "no flow named 'No such flow'"),
    ({"flow": "../schedules.yaml"}, 404, "not_found", "no flow file '../schedules.yaml'"),
    ({"flow": "API orders", "inputs": {"bacth": "x"}}, 422, "invalid_request", "did you mean 'batch'"),
    ({"flow": "API orders", "inputs": {"batch": {"nested": 1}}}, 422, "invalid_request", "inputs.batch"),
    ({"flow": "API orders", "priority": 5}, 422, "invalid_request", "priority"),
    ({"flow": ""}, 422, "invalid_request", "flow"),
    ([], 422, "invalid_request", "(body)"),
])
def test_a_run_that_cannot_start_is_refused_with_what_to_fix_and_nothing_is_queued(api, body, status, error, says):
    client = client_for(api, token_for(api, "operator"))
    assert says in assert_json_error(client.post("/api/v1/runs", json=body), status, error)["detail"]
    assert api.context.queue.list_runs() == []


def test_a_flow_that_does_not_validate_is_refused_with_its_problems(api):
    (api.context.flows_dir / "broken.yaml").write_text("name: Broken\nsteps:\n  - no_such_step: 1\n")
    response = client_for(api, token_for(api, "operator")).post("/api/v1/runs", json={"flow": "broken.yaml"})
    body = assert_json_error(response, 422, "invalid_request")
    assert "does not pass `validate`" in body["detail"] and "broken.yaml:3" in body["problems"][0]["message"]


def test_a_body_that_is_not_json_or_too_large_is_refused_before_anything_is_done(api):
    client = client_for(api, token_for(api, "operator"))
    assert_json_error(client.post("/api/v1/runs", content=b"{not json", headers={
        "content-type": "application/json"}), 422, "invalid_request")
    assert_json_error(client.post("/api/v1/runs", content=b"flow=x", headers={
        "content-type": "application/x-www-form-urlencoded"}), 415, "unsupported_media_type")
    huge = json.dumps({"flow": "API orders", "inputs": {"batch": "x" * MAX_BODY_BYTES}})
    assert_json_error(client.post("/api/v1/runs", content=huge, headers={"content-type": "application/json"}),
                      413, "too_large")
    assert api.context.queue.list_runs() == []


def test_a_run_started_through_the_api_is_run_by_a_real_serve_and_its_status_and_items_are_reported(api, tmp_path):
    client = client_for(api, token_for(api, "operator"))
    added = client.post("/api/v1/queues/API orders/items", json={"items": [
        {"reference": "A-1", "data": {"ref": "A-1", "qty": 2}}, {"reference": "A-2", "data": {"ref": "A-2", "qty": 3}}]})
    assert added.status_code == 201
    started = client.post("/api/v1/runs", json={"flow": "API orders", "inputs": {"batch": "B-9"}}).json()
    service = serve(tmp_path, "--workers", "1")
    try:
        assert wait_until(lambda: client.get(started["links"]["self"]).json()["state"] == "done", timeout=120), \
            service.log.read_text()
    finally:
        stop(service)
        kill_leftover_services()
    status = client.get(started["links"]["self"]).json()
    assert status["run_status"] == "succeeded" and status["items"] == {"total": 3, "succeeded": 3, "failed": 0}
    assert status["started_at"] and status["ended_at"] and status["links"]["report"] == f"/runs/{status['run_id']}"
    assert api.context.store.get_run(status["run_id"]).inputs["batch"] == "B-9"
    item = client.get(added.json()["added"][0]["links"]["self"]).json()
    assert (item["reference"], item["state"], item["run_id"]) == ("A-1", "successful", status["run_id"])


# --- work items -------------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def any_backend_api(request, tmp_path, monkeypatch) -> Iterator[Console]:
    """The `api` console on each backend: its home's SQLite files, or a throwaway PostgreSQL database."""
    if request.param == "postgres":
        monkeypatch.setenv("BASTIDOR_DATABASE_URL", request.getfixturevalue("pg_url"))
    yield request.getfixturevalue("api")


def test_items_are_added_all_or_none_and_a_duplicate_reference_is_refused_with_409_naming_it(any_backend_api):
    api = any_backend_api
    client = client_for(api, token_for(api, "operator"))
    first = client.post("/api/v1/queues/API orders/items", json={"items": [
        {"reference": "ORD-1", "data": {"qty": 1}}, {"reference": "ORD-2", "priority": 5}]})
    assert first.status_code == 201
    body = first.json()
    assert body["queue"] == "API orders" and [item["reference"] for item in body["added"]] == ["ORD-1", "ORD-2"]
    again = client.post("/api/v1/queues/orders.yaml/items", json={"items": [
        {"reference": "ORD-3"}, {"reference": "ORD-2"}]})
    refused = assert_json_error(again, 409, "duplicate_reference")
    assert refused["references"] == ["ORD-2"] and "'ORD-2'" in refused["detail"] and "nothing" in refused["detail"]
    assert [item.reference for item in api.context.queue.items("API orders")] == ["ORD-1", "ORD-2"]
    item = client.get(body["added"][1]["links"]["self"]).json()
    assert (item["queue"], item["reference"], item["state"], item["priority"]) == ("API orders", "ORD-2", "new", 5)
    assert api.context.queue.get_item(body["added"][0]["id"]).data == {"qty": 1}


def test_a_batch_of_a_thousand_items_is_accepted_and_one_more_is_refused(api):
    client = client_for(api, token_for(api, "operator"))
    batch = [{"reference": f"R-{n:04d}", "data": {"n": n}} for n in range(1000)]
    assert client.post("/api/v1/queues/API orders/items", json={"items": batch}).status_code == 201
    too_many = [*batch, {"reference": "R-1000"}]
    assert_json_error(client.post("/api/v1/queues/API orders/items", json={"items": too_many}), 422,
                      "invalid_request")
    assert len(api.context.queue.items("API orders")) == 1000


@pytest.mark.parametrize("items, says", [
    ([{"reference": "A"}, {"reference": "A"}], "appears twice in this batch"),
    ([], "items"),
    ([{"reference": " padded"}], "items.0.reference"),
    ([{"reference": "A", "defer_until": "2026-12-24T09:00"}], "items.0.defer_until"),
    ([{"reference": "A", "data": [1, 2]}], "items.0.data"),
])
def test_a_batch_with_a_bad_item_is_refused_with_where_and_nothing_is_added(api, items, says):
    client = client_for(api, token_for(api, "operator"))
    body = assert_json_error(client.post("/api/v1/queues/API orders/items", json={"items": items}), 422,
                             "invalid_request")
    assert says in body["detail"] and body["problems"]
    assert api.context.queue.items("API orders") == []


def test_items_for_a_flow_that_is_not_in_the_flows_folder_are_refused_with_404(api):
    client = client_for(api, token_for(api, "operator"))
    body = assert_json_error(client.post("/api/v1/queues/Nobody/items", json={"items": [{"reference": "A"}]}),
                             404, "not_found")
    assert "API orders" in body["detail"]  # the flows there are named
    assert_json_error(client.get("/api/v1/items/12345"), 404, "not_found")
    assert_json_error(client.get("/api/v1/items/abc"), 422, "invalid_request")
    assert_json_error(client.get("/api/v1/runs/99999999999999999999999"), 422, "invalid_request")


# --- rate limits --------------------------------------------------------------------------------------------------


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_over_its_rate_gets_429_with_retry_after_and_others_are_not_slowed(api):
    clock = FakeClock()
    api.app.state.api.state.api_rate_limiter = RateLimiter(per_minute=6, capacity=3, clock=clock)
    busy, calm = client_for(api, token_for(api, "viewer", "busy")), client_for(api, token_for(api, "viewer", "calm"))
    assert [busy.get("/api/v1/runs/1").status_code for _ in range(3)] == [404] * 3
    refused = busy.get("/api/v1/runs/1")
    assert "wait 10 s" in assert_json_error(refused, 429, "rate_limited")["detail"]
    assert refused.headers["retry-after"] == "10"
    assert busy.get("/api/v1/runs/1").status_code == 429
    assert calm.get("/api/v1/runs/1").status_code == 404
    clock.now += 10
    assert busy.get("/api/v1/runs/1").status_code == 404
    limited = [(r["caller"], r["status"]) for r in api_calls(api) if r["status"] == 429]
    assert limited == [("busy", 429)]  # the first refusal of a streak is recorded, not every one


def test_calls_without_a_valid_token_are_rate_limited_by_address(api):
    api.app.state.api.state.api_rate_limiter = RateLimiter(per_minute=1, capacity=2, clock=FakeClock())
    guesser = client_for(api, "bst_guess")
    assert [guesser.get("/api/v1/runs/1").status_code for _ in range(4)] == [401, 401, 429, 429]
    assert guesser.get("/api/v1/runs/1").headers["retry-after"] == "60"
    assert client_for(api, token_for(api, "viewer")).get("/api/v1/runs/1").status_code == 404


# --- audit, failures ----------------------------------------------------------------------------------------------


def test_every_call_is_in_the_console_audit_log_with_the_token_name_route_and_status_never_the_token(api):
    token = token_for(api, "operator", "erp")
    client = client_for(api, token)
    client.post("/api/v1/runs", json={"flow": "API orders", "inputs": {"batch": "B-1"}})
    client.post("/api/v1/queues/API orders/items", json={"items": [{"reference": "ORD-1"}]})
    client.get("/api/v1/runs/1")
    client.get("/api/v1/nowhere")
    client_for(api, None).get("/api/v1/items/1")
    calls = [(r["user"], r["caller"], r["method"], r["route"], r["status"]) for r in api_calls(api)]
    assert calls == [
        ("api:erp", "erp", "POST", "/api/v1/runs", 202),
        ("api:erp", "erp", "POST", "/api/v1/queues/{flow}/items", 201),
        ("api:erp", "erp", "GET", "/api/v1/runs/{id}", 200),
        ("api:erp", "erp", "GET", None, 404),
        ("anonymous", None, "GET", "/api/v1/items/{id}", 401),
    ]
    actions = {r["action"]: r for r in audit_records(api) if r.get("action", "").startswith("api.") and
               r["action"] != "api.call"}
    assert actions["api.run.start"]["inputs"] == ["batch"] and actions["api.run.start"]["caller"] == "erp"
    assert actions["api.items.add"]["references"] == ["ORD-1"]
    assert token not in (api.home / "audit" / "console.jsonl").read_text()
    assert main(["audit", "verify", str(api.home / "audit" / "console.jsonl")]) == 0


def test_when_the_audit_log_cannot_be_written_nothing_is_done_or_answered(api):
    client = client_for(api, token_for(api, "operator"))
    break_audit_log(api)
    assert_json_error(client.post("/api/v1/runs", json={"flow": "API orders"}), 503, "unavailable")
    assert_json_error(client.post("/api/v1/queues/API orders/items", json={"items": [{"reference": "A"}]}), 503,
                      "unavailable")
    assert_json_error(client.get("/api/v1/openapi.json"), 503, "unavailable")
    assert api.context.queue.list_runs() == [] and api.context.queue.items("API orders") == []


def test_a_database_outage_is_a_503_and_an_unexpected_failure_a_500_both_json_without_a_traceback(api, monkeypatch):
    client = client_for(api, token_for(api, "viewer"))

    def unreachable(*args: Any) -> None:
        raise QueueError("The work queue in postgresql://bastidor@db/bastidor cannot be reached (connection refused)")

    monkeypatch.setattr(api.context.queue, "get_run", unreachable)
    assert "connection refused" in assert_json_error(client.get("/api/v1/runs/1"), 503, "unavailable")["detail"]

    def broken(*args: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.context.queue, "get_item", broken)
    response = client.get("/api/v1/items/1")
    assert_json_error(response, 500, "internal_error")
    assert "secret internals" not in response.text and "RuntimeError" not in response.text


def test_the_console_pages_still_need_a_sign_in_and_csrf_beside_the_api(api):
    visitor = api.client(None)
    assert visitor.get("/runs").status_code == 303
    operator = api.client("operator")
    assert operator.post("/exceptions/assign", data={"run_id": "R", "item_ref": "X"}, csrf=False).status_code == 403
