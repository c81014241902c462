"""The HTTP step: `http_request` calls a web API (an ERP, the demo portal's JSON API) with httpx.

The request is sent by `bastidor.connectors.http_client` (retries on connection errors, 5xx and 429 with
`Retry-After`). Credentials come from the flow's declared secrets by name (`auth: {bearer: ERP_TOKEN}`), are
handed to the run's masker, and never appear in the step's record, its error or the audit log.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import Field, field_validator, model_validator

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.expr import to_text
from bastidor.flow.connections import HttpAuth
from bastidor.flow.model import NAME_PATTERN
from bastidor.flow.types import DurationMs, Text

DEFAULT_TIMEOUT_MS = 10_000
AUDIT_BODY_CHARS = 2048
"""The most of a response body kept in the step's audit record (masked first, then cut)."""
ERROR_BODY_CHARS = 200
"""The most of a response body shown in the error of a failed request."""


class HttpRequestParams(Params):
    """Call a web API."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field("GET", description="The HTTP method.")
    api: str | None = Field(None, description="A web API declared under `apis:` in the flow's header: the url is "
                            "taken relative to its base_url, and its auth and headers are sent.")
    url: Text = Field(description="An absolute http(s) URL, or a path taken relative to the named api's base_url "
                      "(or, without api, a path starting with / relative to the bot's base_url), e.g. /api/orders.")
    headers: dict[str, Text] | None = Field(None, description="Request headers; values may use {{ }}.")
    query: dict[str, Any] | None = Field(None, description="Query parameters added to the URL.")
    json_: Any = Field(None, alias="json", description="A JSON body (a record, a list, a value).")
    form: dict[str, Any] | None = Field(None, description="A form body (application/x-www-form-urlencoded).")
    timeout: DurationMs | None = Field(None, description="How long one attempt may take (default: 10s).")
    auth: HttpAuth | None = Field(None, description="Sign in with a declared secret: {bearer: NAME} or "
                                  "{basic: {user: NAME, password: NAME}}.")
    retries: int = Field(2, ge=0, le=10, description="Extra attempts on connection errors, 5xx and 429 "
                         "(default: 2).")
    fail_on_error: bool = Field(True, description="Fail the step when the final status is not 2xx (default: "
                                "true); with false the flow inspects `status` itself.")
    into: str | None = Field(None, pattern=NAME_PATTERN, description="Variable that receives the response: "
                             "status, headers, json, text, truncated.")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_body(self) -> "HttpRequestParams":
        if "json_" in self.model_fields_set and self.form is not None:
            raise ValueError("give either json or form as the body, not both")
        return self

    def secret_refs(self) -> list[tuple[tuple[str, ...], str]]:
        """The secrets this step names outside `{{ }}` (in `auth`), each with where it is written."""
        return [(("auth",) + where, name) for where, name in self.auth.secret_names()] if self.auth else []

    def connection_refs(self) -> list[tuple[tuple[str, ...], str, str]]:
        """The header connections this step names: (where, kind, name)."""
        return [(("api",), "api", self.api)] if self.api else []


def _describe(w: Any) -> str:
    method = w.raw("method") if w.has("method") else "GET"
    text = f"Send {str(method).upper()} {w['url']:plain}"
    if w.has("into"):
        text += f", the answer into {w['into']:plain}"
    return text


@action("http_request", params=HttpRequestParams, kind="data", describe=_describe)
def http_request(ctx, params):
    """Call a web API over HTTP(S); the response's status, headers and JSON go into a variable."""
    from bastidor.connectors.http_client import HttpClientError, display_url, send_request

    masker = ctx.state.masker
    method = str(params.method or "GET").upper()
    api = ctx.declared("api", params.api) if params.api else None
    url = _absolute_url(ctx, to_text(params.url), api)
    shown_url = masker.mask_text(display_url(url))
    headers = dict(api.headers) if api else {}
    headers.update({str(key): to_text(value) for key, value in (params.headers or {}).items()})
    auth = _auth_header(ctx, params.auth or (api.auth if api else None))
    if auth is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = auth
    fields_set = params.model_fields_set
    json_body = _jsonable(params.json_) if "json_" in fields_set else None
    form = {str(k): _form_value(v) for k, v in params.form.items()} if params.form else None
    query = {str(k): _form_value(v) for k, v in params.query.items()} if params.query else None
    timeout_ms = params.timeout if params.timeout is not None else (
        api.timeout if api and api.timeout is not None else DEFAULT_TIMEOUT_MS)
    retries = params.retries if params.retries is not None else 2
    try:
        response = send_request(method, url, headers=headers, params=query, json_body=json_body, form=form,
                                timeout_s=timeout_ms / 1000, retries=retries, sleep=ctx.state.sleep)
    except HttpClientError as error:
        raise StepError(masker.mask_text(str(error))) from None

    masked_body = masker.mask_text(response.text)
    result = {"method": method, "url": shown_url, "status": response.status, "elapsed_ms": response.elapsed_ms,
              "size": response.size, "attempts": response.attempts}
    if response.waits_s:
        result["waited_s"] = [round(seconds, 3) for seconds in response.waits_s]
    if response.truncated:
        result["truncated"] = f"the body was cut at {response.size} bytes"
    result["body"] = masked_body[:AUDIT_BODY_CHARS]
    if len(masked_body) > AUDIT_BODY_CHARS:
        result["body_cut"] = f"first {AUDIT_BODY_CHARS} of {len(masked_body)} characters"
    if params.into:
        ctx.set_variable(params.into, {"status": response.status, "headers": response.headers,
                                       "json": response.json, "text": response.text,
                                       "truncated": response.truncated})
    if not response.ok and params.fail_on_error is not False:
        snippet = " ".join(masked_body.split())[:ERROR_BODY_CHARS]
        tries = f" (after {response.attempts} attempts)" if response.attempts > 1 else ""
        reason = f" {response.reason}" if response.reason else ""
        error = StepError(f"{method} {shown_url} answered {response.status}{reason}{tries}: "
                          f"{snippet or '(empty body)'}")
        error.step_result = result  # recorded with the failed step (see executor/engine.py)
        raise error
    return result


def _absolute_url(ctx: Any, written: str, api: Any = None) -> str:
    url = written.strip()
    if api is not None:  # the api's credentials go to its own address only
        if urlsplit(url).scheme or url.startswith("//"):
            raise StepError(f"with api: {ctx.node.params.api}, the url is a path under its base_url "
                            f"({api.base_url}), not a full address")
        base = api.base_url if api.base_url.endswith("/") else api.base_url + "/"
        return urljoin(base, url.lstrip("/"))
    if url.startswith("/") and not url.startswith("//"):
        base = ctx.state.browser.base_url
        if not base:
            raise StepError(f"the url {url} is relative: set bot.base_url in the flow, or write the full "
                            f"address (https://...)")
        return urljoin(base, url)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        from bastidor.connectors.http_client import display_url

        raise StepError(f"the url {ctx.state.masker.mask_text(display_url(url))} is neither an http(s) address "
                        f"nor a path starting with / (relative to bot.base_url)")
    return url


def _auth_header(ctx: Any, auth: Any) -> str | None:
    if auth is None:
        return None
    auth = auth if isinstance(auth, HttpAuth) else HttpAuth.model_validate(auth)
    if auth.bearer is not None:
        return f"Bearer {_secret(ctx, auth.bearer)}"
    user, password = _secret(ctx, auth.basic.user), _secret(ctx, auth.basic.password)
    token = base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
    ctx.state.masker.add("", token)  # the encoded pair hides the password from value masking otherwise
    return f"Basic {token}"


def _secret(ctx: Any, name: str) -> str:
    return ctx.secret_value(name)


def _form_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [to_text(item) for item in value]
    return "" if value is None else to_text(value)


def _jsonable(value: Any) -> Any:
    """`value` as plain JSON types: exact decimals as numbers, dates as ISO text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return str.__str__(value.isoformat())
    if isinstance(value, dict):
        return {str.__str__(str(key)): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return str.__str__(to_text(value))
