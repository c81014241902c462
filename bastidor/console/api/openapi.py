"""The OpenAPI 3.1 document of the API, written from the route table and the pydantic models, and served at
``GET /api/v1/openapi.json`` (to any valid token: like every route, it does not answer without one)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request

from bastidor.console.api import API_PREFIX
from bastidor.console.api.models import Error
from bastidor.console.api.routes import ApiRoute, Reply, api_routes
from bastidor.console.tokens import ApiToken

TITLE = "Bastidor API"
VERSION = "1.0.0"
REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_MEANINGS = {
    401: "No token, or one that is not valid (see the WWW-Authenticate header).",
    403: "The token's role is too low for this call.",
    404: "Nothing at this address, or no such run request, item or flow.",
    409: "A reference is already in the queue (nothing of the batch was added), or a flow name is ambiguous.",
    413: "The body is larger than 1 MB.",
    415: "The body is not sent as application/json.",
    422: "The body or a parameter is not valid; `problems` lists each problem.",
    429: "Too many calls with this token: wait the seconds in Retry-After.",
    503: "The console's database or audit log cannot be used just now; nothing was done.",
}


def show_openapi(request: Request, token: ApiToken, body: None) -> Reply:
    """The OpenAPI document."""
    return Reply(200, openapi_document())


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route in `api_routes()`."""
    routes = api_routes()
    models = _models(routes)
    _refs, schemas = models_json_schema([(model, _mode(model, routes)) for model in models], ref_template=REF_TEMPLATE)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.documented_path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": (
            "Start Bastidor flows, add work items and follow them from other systems. Every call needs "
            "`Authorization: Bearer <token>` (tokens: `runner.py tokens add NAME --role viewer|operator|admin`). "
            "Errors are JSON `{error, detail}`. See docs/api.md.")},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {}), "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer", "description": "A token made by `runner.py tokens add`."}}},
    }


def _operation(route: ApiRoute) -> dict[str, Any]:
    status, model = route.answer
    answer = {"$ref": REF_TEMPLATE.format(model=model.__name__)} if model else {"type": "object"}
    responses: dict[str, Any] = {str(status): {"description": route.summary, "content": {
        "application/json": {"schema": answer}}}}
    for code in _error_codes(route):
        responses[str(code)] = {"description": ERROR_MEANINGS[code], "content": {"application/json": {
            "schema": {"$ref": REF_TEMPLATE.format(model=Error.__name__)}}}}
    operation: dict[str, Any] = {"operationId": route.handler.__name__, "summary": route.summary,
                                 "description": f"{route.description}\n\nLeast role: {route.role}.",
                                 "responses": responses}
    if route.parameters:
        operation["parameters"] = [{"name": parameter.name, "in": "path", "required": True,
                                    "description": parameter.description, "schema": parameter.schema}
                                   for parameter in route.parameters]
    if route.body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF_TEMPLATE.format(model=route.body.__name__)}}}}
    return operation


def _error_codes(route: ApiRoute) -> list[int]:
    codes = {401, 429, 503, *route.errors}
    if route.role != "viewer":
        codes.add(403)
    if route.body:
        codes.update((413, 415, 422))
    return sorted(codes)


def _models(routes: list[ApiRoute]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {Error.__name__: Error}
    for route in routes:
        for model in (route.body, route.answer[1]):
            if model is not None:
                found[model.__name__] = model
    return list(found.values())


def _mode(model: type[BaseModel], routes: list[ApiRoute]) -> str:
    """Request bodies are described as they are validated; answers as they are written."""
    return "validation" if any(route.body is model for route in routes) else "serialization"


OPENAPI_ROUTES = [
    ApiRoute("GET", f"{API_PREFIX}/openapi.json", "viewer", show_openapi, "This document",
             "The OpenAPI 3.1 document of this API. Like every route, it needs a token (any role).",
             answer=(200, None)),
]
