"""The `sql_query` and `sql_execute` steps in real flow runs, on SQLite files and on the local PostgreSQL.

Each test that touches data runs twice (`db` fixture): once on a SQLite file made for it, once on a throwaway
PostgreSQL database (skipped, saying why, where none can be reached). The URL always comes from a secret.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "db-pass-5e1f0c9a-never-shown"
HEADER = """
secrets: [PRICES_DB_URL]
databases:
  prices: {url_secret: PRICES_DB_URL}
"""


class Database:
    """A test database: its URL, and plain SQL run on it outside any flow."""

    def __init__(self, url: str):
        self.url = url

    def run(self, *statements: str) -> None:
        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def rows(self, sql: str) -> list[tuple]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql))]
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Database:
    """A database holding a `prices` table of three rows: SQLite in a file, or a throwaway PostgreSQL one."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'prices.db'}")
    else:
        url = request.getfixturevalue("pg_url")
        database = Database(url.replace("postgres@", f"postgres:{PASSWORD}@", 1))  # trust auth ignores it
    database.run("CREATE TABLE prices (customer VARCHAR(20) NOT NULL, sku VARCHAR(20) NOT NULL, "
                 "price NUMERIC(10, 2) NOT NULL, ratio REAL, valid_from DATE, UNIQUE (customer, sku))",
                 "INSERT INTO prices VALUES ('ACME', 'A-1', 12.50, 0.25, '2026-01-01'), "
                 "('ACME', 'B-2', 3.10, 0.5, '2026-02-01'), ('Globex', 'A-1', 13.00, NULL, NULL)")
    return database


def _flow(tmp_path: Path, steps: str, name: str = "Prices") -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(f"name: {name}\n{HEADER}steps:\n{steps}", encoding="utf-8")
    return path


def _step_records(run, action: str) -> list[dict]:
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return [r for r in records if r.get("event") == "step" and r.get("action") == action]


def _everything_written(tmp_path: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "home").rglob("*")
                     if p.is_file())


def test_query_gives_records_keyed_by_column_with_decimal_numbers(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - set: {who: ACME}
  - sql_query:
      database: prices
      sql: SELECT sku, price, ratio, valid_from FROM prices WHERE customer = :customer ORDER BY sku
      params: {customer: "{{ who }}"}
      into: rows
  - assert: "{{ len(rows) == 2 and rows[0].sku == 'A-1' and rows[1].sku == 'B-2' }}"
  - assert: "{{ rows[0].price + rows[1].price == decimal('15.60') and rows[0].ratio == decimal('0.25') }}"
  - set: {total: "{{ rows[0].price * 2 }}"}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "succeeded", run.result.error
    record = _step_records(run, "sql_query")[-1]["result"]
    assert record["database"] == "prices" and record["rows"] == 2 and record["columns"] == [
        "sku", "price", "ratio", "valid_from"]
    assert record["statement"].startswith("SELECT sku, price") and record["params"] == {"customer": "ACME"}
    assert record["first_rows"][0]["sku"] == "A-1" and record["elapsed_ms"] >= 0


def test_one_true_gives_the_single_record(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - sql_query:
      database: prices
      sql: SELECT price FROM prices WHERE customer = :customer AND sku = :sku
      params: {customer: Globex, sku: A-1}
      one: true
      into: found
  - assert: "{{ found.price == 13 }}"
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "succeeded", run.result.error


@pytest.mark.parametrize("customer, count", [("Nobody", 0), ("ACME", 2)])
def test_one_true_fails_on_no_row_or_several(db, run_flow_file, tmp_path, customer, count):
    flow = _flow(tmp_path, f"""
  - sql_query:
      database: prices
      sql: SELECT price FROM prices WHERE customer = :customer
      params: {{customer: {customer}}}
      one: true
      into: found
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "failed"
    assert run.result.error == (f"sql_query on 'prices' expected exactly one row (one: true) and got {count}; "
                                f"check the values in params, or drop one: true to get a list")


def test_more_rows_than_max_rows_fails_instead_of_cutting(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - sql_query: {database: prices, sql: SELECT * FROM prices, max_rows: 2, into: rows}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "failed"
    assert "answered more than 2 rows (max_rows); narrow it with WHERE or LIMIT, or raise max_rows" \
        in run.result.error


def test_execute_commits_and_gives_rows_affected(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - set: {rise: "{{ decimal('1.10') }}"}
  - sql_execute:
      database: prices
      sql: UPDATE prices SET price = price * :factor WHERE customer = :customer
      params: {factor: "{{ rise }}", customer: ACME}
      into: changed
  - assert: "{{ changed == 2 }}"
  - sql_execute:
      database: prices
      sql: "INSERT INTO prices (customer, sku, price, valid_from) VALUES (:customer, :sku, :price, :day)"
      params: {customer: Initech, sku: C-3, price: "{{ decimal('7.25') }}", day: "{{ date(2026, 3, 1) }}"}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "succeeded", run.result.error
    assert sorted((c, s, round(float(p), 2)) for c, s, p in db.rows("SELECT customer, sku, price FROM prices")) \
        == [("ACME", "A-1", 13.75), ("ACME", "B-2", 3.41), ("Globex", "A-1", 13.0), ("Initech", "C-3", 7.25)]
    assert [r["result"]["rows"] for r in _step_records(run, "sql_execute")] == [2, 1]


def test_a_failing_statement_changes_nothing(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - sql_execute:
      database: prices
      sql: >-
        INSERT INTO prices (customer, sku, price)
        SELECT 'Copy', sku, CASE WHEN sku = 'B-2' THEN NULL ELSE price END FROM prices WHERE customer = :customer
      params: {customer: ACME}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "failed"
    assert run.result.error.startswith("sql_execute on database 'prices' failed: ")
    assert run.result.error.endswith("; nothing was changed") and "\n" not in run.result.error
    assert "null" in run.result.error.lower()
    assert db.rows("SELECT count(*) FROM prices") == [(3,)]


def test_wrong_sql_fails_with_the_databases_message_in_one_line(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - sql_query: {database: prices, sql: SELEC price FROM prices, into: rows}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "failed"
    assert run.result.error.startswith("sql_query on database 'prices' failed: ")
    assert "syntax error" in run.result.error and "\n" not in run.result.error
    assert PASSWORD not in run.result.error
    failed = _step_records(run, "sql_query")[-1]
    assert failed["outcome"] == "failed" and failed["result"]["statement"] == "SELEC price FROM prices"


def test_sql_query_never_commits_a_change(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - sql_query: {database: prices, sql: "DELETE FROM prices", into: rows}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "failed"
    assert "sql_query only reads data (DELETE changes it, and sql_query never keeps a change): use sql_execute" \
        in run.result.error
    assert db.rows("SELECT count(*) FROM prices") == [(3,)]


def test_sql_query_refuses_an_insert_returning_ids_it_would_never_keep(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - sql_query:
      database: prices
      sql: "WITH added AS (INSERT INTO prices (sku, customer, price) VALUES ('Z', 'ACME', 1) RETURNING sku) SELECT * FROM added"
      into: rows
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "failed" and "(INSERT changes it" in run.result.error
    assert db.rows("SELECT count(*) FROM prices") == [(3,)]


def test_a_slow_statement_is_stopped_at_its_timeout(db, run_flow_file, tmp_path):
    slow = ("SELECT pg_sleep(30)" if db.url.startswith("postgresql") else
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n")
    flow = _flow(tmp_path, f"""
  - sql_query: {{database: prices, sql: "{slow}", timeout: 300ms, into: rows}}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "failed"
    assert "the statement ran longer than its timeout of 0.3s and was stopped" in run.result.error


def test_audit_masks_parameters_from_secrets_and_keeps_the_first_rows(db, run_flow_file, tmp_path):
    db.run("CREATE TABLE notes (id INTEGER, body VARCHAR(40))",
           *[f"INSERT INTO notes VALUES ({i}, 'note {i}')" for i in range(8)])
    flow = _flow(tmp_path, """
  - sql_query:
      database: prices
      sql: SELECT id, body FROM notes WHERE body <> :token ORDER BY id
      params: {token: "{{ secrets.API_TOKEN }}"}
      into: rows
  - assert: "{{ len(rows) == 8 and rows[7].id == 7 }}"
""").read_text()
    path = tmp_path / "flow.yaml"
    path.write_text(flow.replace("secrets: [PRICES_DB_URL]", "secrets: [PRICES_DB_URL, API_TOKEN]"))
    run = run_flow_file(path, secrets={"PRICES_DB_URL": db.url, "API_TOKEN": "tok-41f0aa77e2"})
    assert run.result.status == "succeeded", run.result.error
    record = _step_records(run, "sql_query")[-1]["result"]
    assert record["params"] == {"token": "***"} and record["rows"] == 8
    assert [row["id"] for row in record["first_rows"]] == [0, 1, 2, 3, 4]
    run.store.close()
    written = _everything_written(tmp_path)
    assert "tok-41f0aa77e2" not in written and PASSWORD not in written


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_database_fails_in_one_line_without_its_password(run_flow_file, tmp_path):
    url = f"postgresql+psycopg://robot:{PASSWORD}@127.0.0.1:{_closed_port()}/prices"
    flow = _flow(tmp_path, """
  - sql_query: {database: prices, sql: SELECT 1 AS one, into: rows}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": url})
    assert run.result.status == "failed"
    assert run.result.error.startswith("database 'prices' cannot be reached: ")
    assert "\n" not in run.result.error and PASSWORD not in run.result.error
    run.store.close()
    assert PASSWORD not in _everything_written(tmp_path)


def test_a_missing_sqlite_file_is_not_created_empty(run_flow_file, tmp_path):
    missing = tmp_path / "nowhere" / "prices.db"
    flow = _flow(tmp_path, """
  - sql_execute: {database: prices, sql: "CREATE TABLE t (x INTEGER)"}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": f"sqlite:///{missing}"})
    assert run.result.status == "failed"
    assert run.result.error == f"database 'prices' cannot be reached: the SQLite file {missing} does not exist"
    assert not missing.exists()


def test_a_url_that_is_no_database_url_is_named_without_its_text(run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - sql_query: {database: prices, sql: SELECT 1 AS one, into: rows}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": f"not a url {PASSWORD}"})
    assert run.result.status == "failed"
    assert run.result.error.startswith("database 'prices' cannot be reached: the URL is not a database URL")
    assert PASSWORD not in run.result.error


def test_two_columns_of_one_name_are_refused(db, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - sql_query: {database: prices, sql: "SELECT a.sku, b.sku FROM prices a JOIN prices b ON a.sku = b.sku",
                into: rows}
""")
    run = run_flow_file(flow, secrets={"PRICES_DB_URL": db.url})
    assert run.result.status == "failed"
    assert "the query answers two columns called 'sku'; name them apart with AS" in run.result.error


def _validate(path: Path) -> str:
    done = subprocess.run([sys.executable, "runner.py", "validate", str(path)], cwd=REPO, capture_output=True, check=False,
                          text=True, timeout=60)
    assert done.returncode != 0
    return done.stdout + done.stderr


def test_validate_points_at_braces_in_the_sql_text(tmp_path):
    flow = _flow(tmp_path, """
  - sql_query:
      database: prices
      sql: |
        SELECT price FROM prices
        WHERE customer = '{{ order.customer }}'
      into: rows
""")
    out = _validate(flow)
    assert (f"{flow}:10:12: 'sql': '{{{{ order.customer }}}}' in the sql (line 2 of the sql) would paste a value "
            f"into the SQL text; write :customer in its place and give the value under params: "
            f"{{customer: \"{{{{ order.customer }}}}\"}}") in out


def test_validate_names_parameters_missing_or_unused(tmp_path):
    flow = _flow(tmp_path, """
  - sql_query:
      database: prices
      sql: SELECT price FROM prices WHERE sku = :sku AND customer = :customer
      params: {sku: A-1}
      into: rows
  - sql_execute:
      database: prices
      sql: DELETE FROM prices WHERE sku = 'A-1'
      params: {sku: A-1}
  - sql_execute: {database: prices, sql: "UPDATE prices SET price = :price"}
""")
    out = _validate(flow)
    assert f"{flow}:11:15: 'params': the sql uses :customer but params does not give it" in out
    assert (f"{flow}:16:16: 'params': 'sku' is given under params but the sql never uses :sku; remove it, or "
            f"write :sku in the sql where the value belongs") in out
    assert f"{flow}:17:37: 'sql_execute': 'sql' uses :price but params does not give it" in out


def test_validate_names_an_undeclared_database(tmp_path):
    flow = _flow(tmp_path, """
  - sql_query: {database: pricez, sql: SELECT 1 AS one, into: rows}
""")
    assert (f"{flow}:8:27: database 'pricez' is not declared under `databases:` in the flow's header, did you "
            f"mean 'prices'?") in _validate(flow)
