"""The SQL steps: `sql_query` reads rows into a variable, `sql_execute` changes data in one transaction.

The database is named in the flow's header (`databases: {prices: {url_secret: PRICES_DB_URL}}`), its URL read
from that secret. Values always travel as bound parameters: the SQL text names them (`:customer`) and `params:`
gives them, with `{{ }}` allowed there and only there. A `{{ }}` in the SQL text, a parameter the SQL uses but
`params:` does not give, or one given but never used, is found by `validate` at the step's file:line:column.

Statements are run by `bastidor.connectors.sql_client`, one engine per step (there is no end-of-run hook to
dispose of a per-run one), so a step leaves no connection open behind it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.flow.model import NAME_PATTERN
from bastidor.flow.types import DurationMs

DEFAULT_TIMEOUT_MS = 30_000
DEFAULT_MAX_ROWS = 10_000
MAX_MAX_ROWS = 1_000_000
AUDIT_ROWS = 5
"""The first rows of a query kept in the step's audit record (masked)."""

_BIND_NAME = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")  # as SQLAlchemy's text() finds them
_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)


class SqlParams(Params):
    """What both SQL steps take: the database, the statement and its bound parameters."""

    database: str = Field(description="A database declared under `databases:` in the flow's header.")
    sql: str = Field(description="The statement, with each value written as a named parameter (:customer); "
                     "never {{ }}, which would paste the value into the SQL text.")
    params: dict[str, Any] | None = Field(None, description="The value of each :name in the sql; values may "
                                          "use {{ }}, e.g. {customer: \"{{ order.customer }}\"}.")
    timeout: DurationMs | None = Field(None, description="How long the statement may run (default: the "
                                       "database's timeout, else 30s).")

    @field_validator("sql")
    @classmethod
    def _no_templates(cls, sql: str) -> str:
        problem = template_in_sql(sql)
        if problem:
            raise ValueError(problem)
        return sql

    @field_validator("params")
    @classmethod
    def _params_used(cls, params: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        sql = info.data.get("sql")
        if params is None or not isinstance(sql, str):
            return params
        used = set(_BIND_NAME.findall(sql))
        for name in params:
            if name not in used:
                raise ValueError(f"'{name}' is given under params but the sql never uses :{name}; remove it, "
                                 f"or write :{name} in the sql where the value belongs")
        missing = [name for name in _in_order(sql) if name not in params]
        if missing:
            raise ValueError(_missing_params(missing))
        return params

    @model_validator(mode="after")
    def _all_params_given(self) -> SqlParams:
        if self.params is None and _in_order(self.sql):
            raise ValueError("'sql' " + _missing_params(_in_order(self.sql)).removeprefix("the sql "))
        return self

    def connection_refs(self) -> list[tuple[tuple[str, ...], str, str]]:
        """The header connections this step names: (where, kind, name)."""
        return [(("database",), "database", self.database)]


class SqlQueryParams(SqlParams):
    """Read rows from a database."""

    into: str = Field(pattern=NAME_PATTERN, description="Variable that receives the rows: a list of records "
                      "keyed by column name (with one: true, the one record).")
    one: bool = Field(False, description="Expect exactly one row and store that record; no row, or more than "
                      "one, fails the step.")
    max_rows: int = Field(DEFAULT_MAX_ROWS, ge=1, le=MAX_MAX_ROWS, description="Fail the step when the query "
                          "answers more rows than this (default: 10000).")


class SqlExecuteParams(SqlParams):
    """Change data in a database."""

    into: str | None = Field(None, pattern=NAME_PATTERN, description="Variable that receives the number of "
                             "rows affected.")


def template_in_sql(sql: str) -> str | None:
    """Why `sql` may not be run as written (a `{{ }}` in it, which would paste a value into the SQL), or None."""
    found = _TEMPLATE.search(sql)
    opening = sql.find("{{") if found is None else found.start()
    closing = sql.find("}}")
    if found is None and opening < 0 and closing < 0:
        return None
    at = opening if opening >= 0 else closing
    line = sql.count("\n", 0, at) + 1
    where = f" (line {line} of the sql)" if "\n" in sql.strip() else ""
    if found is None:
        return (f"the sql holds '{'{{' if opening >= 0 else '}}'}'{where}: values never go into the SQL text; "
                f"write :name where the value belongs and give it under params: {{name: ...}}")
    name = _suggested_name(found.group(1))
    quoted = found.start() > 0 and sql[found.start() - 1] == "'" and sql[found.end():found.end() + 1] == "'"
    written = f"'{found.group(0)}'" if quoted else found.group(0)
    return (f"{written} in the sql{where} would paste a value into the SQL text; write :{name} in its place "
            f"and give the value under params: {{{name}: \"{found.group(0)}\"}}")


def _suggested_name(expression: str) -> str:
    """A parameter name for an expression: its last name (`order.customer` -> customer), else `value`."""
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression)
    return names[-1] if names and re.fullmatch(r"[\w.\s\[\]'\"]+", expression) else "value"


def _in_order(sql: str) -> list[str]:
    return list(dict.fromkeys(_BIND_NAME.findall(sql)))


def _missing_params(missing: list[str]) -> str:
    listed = ", ".join(f":{name}" for name in missing)
    example = ", ".join(f"{name}: ..." for name in missing)
    return f"the sql uses {listed} but params does not give {'it' if len(missing) == 1 else 'them'}; add " \
           f"params: {{{example}}} (write \\: for a colon that is not a parameter)"


def _describe_query(w: Any) -> str:
    shape = "the one row" if w.has("one") and w.raw("one") is True else "rows"
    return f"Read {shape} from the database {w['database']:plain} into {w['into']:plain}"


def _describe_execute(w: Any) -> str:
    text = f"Change data in the database {w['database']:plain}"
    if w.has("into"):
        text += f", the number of rows affected into {w['into']:plain}"
    return text


@action("sql_query", params=SqlQueryParams, kind="data", describe=_describe_query)
def sql_query(ctx, params):
    """Read rows from a database into a variable: a list of records keyed by column name."""
    from bastidor.connectors.sql_client import SqlClientError, TooManyRows, run_query

    max_rows = params.max_rows if params.max_rows is not None else DEFAULT_MAX_ROWS
    url, timeout_ms, values = _connection(ctx, params)
    record = _record(ctx, params, values)
    try:
        result = run_query(url, params.sql, values, timeout_ms=timeout_ms, max_rows=max_rows)
    except TooManyRows as error:
        raise _failed(ctx, params, record, error, f"; at most {MAX_MAX_ROWS:,}") from None
    except SqlClientError as error:
        raise _failed(ctx, params, record, error) from None
    record.update(rows=len(result.rows), elapsed_ms=round(result.elapsed_ms, 1), columns=result.columns,
                  first_rows=ctx.state.masker.mask(result.rows[:AUDIT_ROWS]))
    if params.one:
        if len(result.rows) != 1:
            error = StepError(f"sql_query on '{params.database}' expected exactly one row (one: true) and got "
                              f"{len(result.rows)}; check the values in params, or drop one: true to get a list")
            error.step_result = record
            raise error
        ctx.set_variable(params.into, result.rows[0])
    else:
        ctx.set_variable(params.into, result.rows)
    return record


@action("sql_execute", params=SqlExecuteParams, kind="data", describe=_describe_execute)
def sql_execute(ctx, params):
    """Run a statement that changes data (INSERT, UPDATE, DELETE) in one transaction: all of it, or nothing."""
    from bastidor.connectors.sql_client import CommitInDoubt, SqlClientError, run_execute

    url, timeout_ms, values = _connection(ctx, params)
    record = _record(ctx, params, values)
    try:
        result = run_execute(url, params.sql, values, timeout_ms=timeout_ms)
    except CommitInDoubt as error:  # never "nothing was changed": it may have been
        raise _failed(ctx, params, record, error, "") from None
    except SqlClientError as error:
        raise _failed(ctx, params, record, error, "; nothing was changed") from None
    record.update(rows=result.rows_affected, elapsed_ms=round(result.elapsed_ms, 1))
    if params.into:
        ctx.set_variable(params.into, result.rows_affected)
    return record


def _connection(ctx: Any, params: SqlParams) -> tuple[str, int, dict[str, Any]]:
    """The database URL (its password handed to the masker), the statement timeout and the bound values."""
    from bastidor.connectors.sql_client import url_password

    spec = ctx.declared("database", params.database)
    url = ctx.secret_value(spec.url_secret)
    password = url_password(url)
    if password:
        ctx.state.masker.add("", password)
    timeout_ms = params.timeout if params.timeout is not None else (
        spec.timeout if spec.timeout is not None else DEFAULT_TIMEOUT_MS)
    return url, timeout_ms, dict(params.params or {})


def _record(ctx: Any, params: SqlParams, values: dict[str, Any]) -> dict[str, Any]:
    """The step's audit record so far: database, statement as written, parameters masked."""
    masker = ctx.state.masker
    return {"database": params.database, "statement": masker.mask_text(params.sql),
            "params": masker.mask(values)}


def _failed(ctx: Any, params: SqlParams, record: dict[str, Any], error: Exception, tail: str = "") -> StepError:
    """A one-line StepError for a statement that failed, masked, with the record kept for the audit."""
    from bastidor.connectors.sql_client import SqlUnreachable, display_url

    masker = ctx.state.masker
    reason = masker.mask_text(str(error))
    if isinstance(error, SqlUnreachable):
        url = ctx.secret_value(ctx.declared("database", params.database).url_secret)
        reason = masker.mask_text(reason.replace(url, display_url(url)))
        failed = StepError(f"database '{params.database}' cannot be reached: {reason}")
    else:
        failed = StepError(f"{ctx.node.action} on database '{params.database}' failed: {reason}{tail}")
    record["error"] = str(failed)
    failed.step_result = record
    return failed
