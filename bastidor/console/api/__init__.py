"""The REST API for other systems, under the console's server at ``/api/v1`` (see docs/api.md).

    errors.py       `ApiError` and the JSON error body ``{error, detail}`` every failure answers with
    models.py       the pydantic models of bodies and answers (the OpenAPI document is built from them)
    routes.py       the route table: method, path, least role, handler, models; served and documented from it
    guard.py        what every call goes through first: a token, the rate limit, the 1 MB body cap, the audit
    ratelimit.py    a token bucket per API token (and per client address for calls without a valid token)
    flows.py        finding a flow of the console's flows folder by its name or its path
    queue_access.py the run requests and work items read and written through the work queue
    runs.py         POST /runs and GET /runs/{id}
    items.py        POST /queues/{flow}/items and GET /items/{id}
    openapi.py      the OpenAPI 3.1 document
    app.py          the API's Starlette app, and the middleware that hands it /api/ calls before the console's
                    sessions and CSRF checks see them

There are no cookies and no CSRF tokens here: every call, errors and the OpenAPI document included, needs
``Authorization: Bearer <token>`` (tokens: `bastidor.console.tokens`, `runner.py tokens`).
"""

API_PREFIX = "/api/v1"
