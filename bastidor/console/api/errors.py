"""Every failure of the API is a JSON body ``{"error": CODE, "detail": SENTENCE}`` with its HTTP status.

`CODE` is stable and machine-readable (``not_found``, ``duplicate_reference``...); `detail` says in one
sentence what is wrong and what to do. Some errors add fields (``problems`` for a body that does not
validate, ``references`` for duplicates). Never a traceback.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

WWW_AUTHENTICATE = 'Bearer realm="bastidor"'


class ApiError(Exception):
    """A refused call: its status, code, one-line detail, extra fields and headers."""

    def __init__(self, status: int, error: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> JSONResponse:
        """The JSON response for this error."""
        return error_response(self.status, self.error, self.detail, headers=self.headers, **self.extra)


def error_response(status: int, error: str, detail: str, *, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    """A JSON error response ``{error, detail, ...extra}``."""
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status, headers=headers)


def unauthorized(detail: str, *, invalid: bool) -> ApiError:
    """401 with the ``WWW-Authenticate`` challenge (RFC 6750: ``error="invalid_token"`` for a bad one)."""
    challenge = WWW_AUTHENTICATE + (', error="invalid_token"' if invalid else "")
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


def not_found(detail: str) -> ApiError:
    """404 with `detail`."""
    return ApiError(404, "not_found", detail)


def invalid(detail: str, problems: list[dict[str, str]] | None = None) -> ApiError:
    """422: the body or a parameter is not what the route takes."""
    return ApiError(422, "invalid_request", detail, **({"problems": problems} if problems is not None else {}))
