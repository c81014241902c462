"""The REST API against its own OpenAPI document, with schemathesis: generated calls (valid and invalid) to every
route get answers of the documented status, content type and schema, and never a server error. Kept short:
a few examples per route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed: pip install schemathesis")
from console_support import Console, TestClient, make_console
from hypothesis import HealthCheck, given, settings

from bastidor.console.api.openapi import openapi_document
from bastidor.console.api.ratelimit import RateLimiter

ORDERS_FLOW = """name: API orders
inputs:
  batch: {type: text, default: none}
steps:
  - log: "batch {{ batch }}"
"""
EXAMPLES_PER_ROUTE = 6
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
"""How an invalid call may be refused: schemathesis' list, with 413 (a body over 1 MB: what a generated batch
of more than 1,000 items becomes)."""


@pytest.fixture(scope="module")
def api_console(tmp_path_factory) -> Iterator[tuple[Console, dict[str, str]]]:
    """A console with one flow, a run request and an item already there, and an admin token's header."""
    folder: Path = tmp_path_factory.mktemp("api-schema")
    (folder / "flows").mkdir()
    (folder / "flows" / "orders.yaml").write_text(ORDERS_FLOW, encoding="utf-8")
    console = make_console(folder, flows_dir=folder / "flows", schedules_path=folder / "schedules.yaml")
    api = console.app.state.api
    api.state.api_rate_limiter = RateLimiter(per_minute=1_000_000)  # the generated calls come fast
    _token, secret = api.state.api_tokens.add("schemathesis", "admin")
    headers = {"Authorization": f"Bearer {secret}"}
    client = TestClient(console.app, headers=headers)
    assert client.post("/api/v1/runs", json={"flow": "API orders"}).status_code == 202
    assert client.post("/api/v1/queues/API orders/items", json={"items": [{"reference": "A-1"}]}).status_code == 201
    yield console, headers
    console.close()


@pytest.fixture(scope="module")
def api_schema(api_console) -> Any:
    """The OpenAPI document as the API serves it (to a token), loaded by schemathesis against the app."""
    console, headers = api_console
    config = schemathesis.config.SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
        "expected-statuses": REFUSALS}}})
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", console.app, headers=headers, config=config)


ROUTES = [(path, method) for path, operations in openapi_document()["paths"].items() for method in operations]


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("path, method", ROUTES, ids=[f"{method.upper()} {path}" for path, method in ROUTES])
def test_every_route_answers_as_its_openapi_document_says(api_schema, api_console, path, method, mode):
    _console, headers = api_console
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: Any) -> None:
        case.call_and_validate(headers=headers)

    answers_as_documented()
