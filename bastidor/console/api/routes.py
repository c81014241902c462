"""The API's route table: each route's method, path, least role, handler and models, in one place.

The app serves `starlette_routes()` and the OpenAPI document is written from `API_ROUTES`, so a route is
never served undocumented. Every handler runs in a worker thread (the stores are synchronous) behind the
same wrapper: the role check (403), the body parsed into the route's pydantic model (415, 422), and every
failure as JSON (404, 409, 503 when the database or the audit log cannot be used, 500 without a traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bastidor.audit import AuditWriteError
from bastidor.console.api.errors import ApiError, error_response, invalid
from bastidor.console.api.guard import NOT_RECORDED, TOKEN_STATE_KEY
from bastidor.console.roles import role_at_least
from bastidor.console.tokens import ApiToken
from bastidor.queue import QueueError
from bastidor.store import StoreError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """A handler's answer: status, body (a model or plain JSON) and extra headers."""

    status: int
    body: BaseModel | dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request, ApiToken, Any], Reply]


@dataclass(frozen=True)
class PathParameter:
    """A parameter in a route's path, for the OpenAPI document."""

    name: str
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True)
class ApiRoute:
    """One route: served from `path` (Starlette syntax), documented at `documented_path`."""

    method: str
    path: str
    role: str
    handler: Handler
    summary: str
    description: str
    answer: tuple[int, type[BaseModel] | None]
    errors: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    parameters: tuple[PathParameter, ...] = ()

    @property
    def documented_path(self) -> str:
        """The path as OpenAPI writes it (``{flow}`` rather than ``{flow:path}``)."""
        return self.path.replace(":path}", "}")


def api_routes() -> list[ApiRoute]:
    """Every route of the API (imported here, so the route modules may import this one)."""
    from bastidor.console.api.items import ITEM_ROUTES
    from bastidor.console.api.openapi import OPENAPI_ROUTES
    from bastidor.console.api.runs import RUN_ROUTES

    return [*RUN_ROUTES, *ITEM_ROUTES, *OPENAPI_ROUTES]


def starlette_routes() -> list[Route]:
    """The routes as Starlette serves them."""
    return [Route(route.path, endpoint_for(route), methods=[route.method]) for route in api_routes()]


def route_template(method: str, path: str) -> str | None:
    """The path template of the route `path` is for (e.g. ``/api/v1/runs/{id}``), None when there is none."""
    for route, served in zip(api_routes(), _compiled()):
        if served.path_regex.match(path):
            return route.documented_path
    return None


_COMPILED: list[Route] = []


def _compiled() -> list[Route]:
    if not _COMPILED:
        _COMPILED.extend(starlette_routes())
    return _COMPILED


def endpoint_for(route: ApiRoute) -> Callable[[Request], Any]:
    """The Starlette endpoint of `route`: role, body, handler, and every failure as JSON."""
    async def serve(request: Request) -> Response:
        try:
            token: ApiToken = request.scope["state"][TOKEN_STATE_KEY]  # set by the guard, or no call gets here
            if not role_at_least(token.role, route.role):
                raise ApiError(403, "forbidden", f"this call needs a token with the {route.role} role; the token "
                               f"{token.name!r} is {token.role}: ask an admin for a token with that role")
            body = await parse_body(request, route.body) if route.body else None
            reply = await run_in_threadpool(route.handler, request, token, body)
        except Exception as error:  # noqa: BLE001  (every failure is JSON, never a traceback)
            return failure_response(request, error)
        content = reply.body.model_dump(mode="json") if isinstance(reply.body, BaseModel) else reply.body
        return JSONResponse(content, status_code=reply.status, headers=reply.headers)

    serve.__name__ = route.handler.__name__
    return serve


def failure_response(request: Request, error: Exception) -> Response:
    """The JSON answer for an exception raised while serving a call."""
    if isinstance(error, ApiError):
        return error.response()
    if isinstance(error, AuditWriteError):
        logger.error("API: console audit log not written on %s %s: %s", request.method, request.url.path, error)
        return error_response(503, "unavailable", f"not done: {NOT_RECORDED}")
    if isinstance(error, (StoreError, QueueError, SQLAlchemyError)):
        logger.error("API: database unavailable on %s %s: %s", request.method, request.url.path, error)
        shown = str(error).splitlines()[0][:300] if isinstance(error, (StoreError, QueueError)) else \
            type(error).__name__
        return error_response(503, "unavailable", f"the console cannot reach its database just now ({shown}); "
                              "nothing was changed: try again in a moment")
    logger.exception("API error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(500, "internal_error", "the console hit an unexpected problem; nothing more is known "
                          "here: try again, and report it (with the time) if it repeats")


async def parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    """The JSON body as `model`; 415 when it is not JSON, 422 (with each problem) when it does not fit."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as JSON, with the header `Content-Type: "
                       "application/json`")
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(f"the body is not valid JSON ({str(error).splitlines()[0][:200]}): check the quotes and "
                      "commas") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [{"where": ".".join(str(part) for part in problem["loc"]) or "(body)",
                     "message": problem["msg"]} for problem in error.errors(include_url=False)]
        first = problems[0]
        more = f" (and {len(problems) - 1} more, in `problems`)" if len(problems) > 1 else ""
        raise invalid(f"{first['where']}: {first['message']}{more}", problems) from None


def positive_id(request: Request, what: str) -> int:
    """The path's ``{id}`` as a number from 1 to 2^63-1; 422 otherwise."""
    written = request.path_params["id"]
    if written.isdigit() and written.isascii() and 1 <= int(written) <= 2**63 - 1:
        return int(written)
    raise invalid(f"{written[:40]!r} is not {what} id: ids are whole numbers from 1")


ID_PARAMETER_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
"""The OpenAPI schema of an ``{id}`` in a path (the ids of run requests and work items)."""
