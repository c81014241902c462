"""Commands as a new user first types them: the home folder given anywhere on the line and holding the
secrets file, items named the way the output shows them, the portal on a port of one's choosing, `serve`
saying what its bots do, a missing notifications file, and help that answers at once."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from rich.console import Console

from bastidor.cli.main import COMMAND_MODULES, build_parser, main
from bastidor.queue import NewItem, open_work_queue
from bastidor.service.run_lines import print_request_not_run, print_run_finished
from service_support import serve, stop, wait_until, write_items, write_schedules

REPO = Path(__file__).resolve().parents[1]

TOKEN_FLOW = """
name: Needs a token
secrets: [ERP_TOKEN]
steps:
  - for_each_item: "{{ [1] }}"
    item_ref: "{{ 'T' + text(row) }}"
    steps:
      - if: "{{ secrets.ERP_TOKEN != 'tok-4242' }}"
        then:
          - fail_item: the token read is not the one in the home's secrets.env
"""

MARKUP_FLOW = """
name: "[bold]Totals[/bold] check"
steps:
  - set: {rows: "{{ [{'n': 1}, {'n': 2}] }}"}
  - for_each_item: "{{ rows }}"
    item_ref: "{{ 'N' + text(row.n) }}"
    steps:
      - if: "{{ row.n == 2 }}"
        then:
          - fail_item: two is not allowed
"""

ORDER_FLOW = "name: Order entry\nsteps:\n  - log: hello\n"


def runner(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python runner.py ARGS` as a user types it, in `cwd`."""
    return subprocess.run([sys.executable, str(REPO / "runner.py"), *args], capture_output=True, text=True,
                          cwd=cwd, env=env or dict(os.environ), timeout=120)


def without_secrets_file_override() -> dict[str, str]:
    """The test environment without `$BASTIDOR_SECRETS_FILE` and `$BASTIDOR_HOME`, as a user's shell is."""
    return {name: value for name, value in os.environ.items()
            if name not in ("BASTIDOR_SECRETS_FILE", "BASTIDOR_HOME")}


def write_secrets(home: Path, text: str) -> None:
    """`secrets.env` in `home`, readable by its owner only."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "secrets.env"
    path.write_text(text, encoding="utf-8")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the home folder and its secrets file -------------------------------------------------------------------


@pytest.mark.parametrize("where", ["--home before the command", "--home after the command", "$BASTIDOR_HOME"])
def test_the_secrets_file_is_read_from_the_home_folder_however_it_is_given(tmp_path, where):
    home = tmp_path / "elsewhere"
    write_secrets(home, "# the ERP's API token\nERP_TOKEN=tok-4242\n")
    (tmp_path / "token.yaml").write_text(TOKEN_FLOW, encoding="utf-8")
    env = without_secrets_file_override()
    if where == "--home before the command":
        done = runner("--home", str(home), "run", "token.yaml", cwd=tmp_path, env=env)
    elif where == "--home after the command":
        done = runner("run", "token.yaml", "--home", str(home), cwd=tmp_path, env=env)
    else:
        done = runner("run", "token.yaml", cwd=tmp_path, env={**env, "BASTIDOR_HOME": str(home)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "items: 1 total, 1 succeeded, 0 failed" in done.stdout
    assert (home / "runs.db").is_file() and not (tmp_path / ".bastidor").exists()


def test_a_missing_secret_names_the_absolute_path_of_the_secrets_file_that_was_tried(tmp_path):
    (tmp_path / "token.yaml").write_text(TOKEN_FLOW, encoding="utf-8")
    done = runner("run", "token.yaml", "--home", "relative-home", cwd=tmp_path, env=without_secrets_file_override())
    assert done.returncode == 2
    tried = (tmp_path / "relative-home" / "secrets.env").resolve()
    assert "ERP_TOKEN not found" in done.stderr
    assert f"add a NAME=value line to the secrets file {tried} (there is no such file yet" in done.stderr
    assert "Traceback" not in done.stderr


MINIMAL_ARGUMENTS = {
    "run": ["run", "flow.yaml"], "validate": ["validate"], "schema": ["schema"], "describe": ["describe", "f.yaml"],
    "runs": ["runs", "list"], "report": ["report", "last"], "audit": ["audit", "verify", "last"], "demo": ["demo"],
    "portal": ["portal"], "schedules": ["schedules"], "serve": ["serve"], "trigger": ["trigger", "job"],
    "items": ["items", "list", "Order entry"], "dashboard": ["dashboard"], "users": ["users", "list"],
    "notifications": ["notifications", "check"], "db": ["db", "status"], "tokens": ["tokens", "list"],
}


def test_every_command_takes_home_after_the_command_too():
    assert set(MINIMAL_ARGUMENTS) == set(COMMAND_MODULES), "add the new command's arguments to MINIMAL_ARGUMENTS"
    for command, arguments in MINIMAL_ARGUMENTS.items():
        parser = build_parser(command)
        assert parser.parse_args([*arguments, "--home", "after"]).home == "after", command
        assert parser.parse_args(["--home", "before", *arguments]).home == "before", command
        assert parser.parse_args(arguments).home is None, command


def test_every_command_takes_the_shared_database_before_or_after_the_command():
    url = "postgresql+psycopg://bastidor@db-host/bastidor"
    for command, arguments in MINIMAL_ARGUMENTS.items():
        parser = build_parser(command)
        assert parser.parse_args([*arguments, "--database", url]).database == url, command
        assert parser.parse_args(["--database", url, *arguments]).database == url, command


def test_a_database_setting_that_is_not_postgresql_is_refused_with_what_to_write(tmp_path):
    result = runner("--database", "mysql://db-host/bastidor", "runs", "list", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a PostgreSQL URL" in result.stderr and "postgresql+psycopg://" in result.stderr


def test_a_database_setting_with_a_password_is_never_echoed_back():
    from bastidor.database.places import DatabaseSettingError, normalized_url, safe_url

    with pytest.raises(DatabaseSettingError) as refused:
        normalized_url("host=db user=bot password=s3cret-word")
    assert "s3cret-word" not in str(refused.value)
    shown = safe_url("postgresql+psycopg://bot:s3cret-word@db/bastidor?sslmode=require&password=s3cret-word")
    assert "s3cret-word" not in shown and shown.startswith("postgresql+psycopg://bot:***@db/bastidor?")


def test_runs_list_with_home_after_the_command_reads_that_home(tmp_path):
    home = tmp_path / "home"
    (tmp_path / "hello.yaml").write_text("name: Hello\nsteps:\n  - log: hi\n", encoding="utf-8")
    assert runner("--home", str(home), "run", "hello.yaml", cwd=tmp_path).returncode == 0
    listed = runner("runs", "list", "--json", "--home", str(home), cwd=tmp_path)
    assert [run["flow_name"] for run in json.loads(listed.stdout)] == ["Hello"]
    assert not (tmp_path / ".bastidor").exists()


# --- items by the names the output shows -------------------------------------------------------------------


def cli(capsys, *args: str) -> SimpleNamespace:
    """`runner.py ARGS` in this process: its exit code, standard output and standard error."""
    code = main(list(args))
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


@pytest.fixture
def queued(tmp_path, monkeypatch) -> Path:
    """A home whose queue holds ORD-0007 failed in 'Order entry' and ORD-0001 in two flows' queues; the
    current folder holds order_entry.yaml, the 'Order entry' flow."""
    home = tmp_path / "home"
    with open_work_queue(home / "queue.db") as queue:
        queue.add_items("Order entry", [NewItem("ORD-0001", {"n": 1}), NewItem("ORD-0007", {"n": 7})])
        queue.add_items("Invoices", [NewItem("ORD-0001", {"n": 1})])
        for _ in range(2):
            item = queue.claim_item("Order entry", "bot-1", 30)
            if item.reference == "ORD-0007":
                queue.fail_item(item.id, "bot-1", "Out of stock: Doohickey", business=True)
            else:
                queue.complete_item(item.id, "bot-1")
    (tmp_path / "order_entry.yaml").write_text(ORDER_FLOW, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return home


def test_items_list_accepts_the_flow_file_as_well_as_its_name(queued, capsys):
    by_file = cli(capsys, "--home", str(queued), "items", "list", "order_entry.yaml", "--json")
    by_name = cli(capsys, "--home", str(queued), "items", "list", "Order entry", "--json")
    assert by_file.returncode == 0, by_file.stderr
    assert json.loads(by_file.stdout) == json.loads(by_name.stdout)
    assert {item["reference"] for item in json.loads(by_file.stdout)} == {"ORD-0001", "ORD-0007"}


def test_items_list_of_a_missing_flow_file_names_the_path_tried(queued, capsys, tmp_path):
    done = cli(capsys, "--home", str(queued), "items", "list", "flows/orders.yaml")
    assert done.returncode == 2
    assert f"no flow file {(tmp_path / 'flows' / 'orders.yaml').resolve()}" in done.stderr


def test_items_list_of_an_unknown_queue_names_the_queues_there_are(queued, capsys):
    done = cli(capsys, "--home", str(queued), "items", "list", "order entry")
    assert done.returncode == 0
    assert "no items in the queue 'order entry'; flows with queued items: 'Invoices', 'Order entry'" in done.stdout


def test_items_history_accepts_the_item_reference_as_well_as_its_id(queued, capsys):
    by_ref = cli(capsys, "--home", str(queued), "items", "history", "ORD-0007")
    assert by_ref.returncode == 0, by_ref.stderr
    first_line = by_ref.stdout.splitlines()[0]
    assert first_line.startswith("Order entry / ORD-0007 (id ") and first_line.endswith("): failed")
    item_id = first_line.split("(id ")[1].split(")")[0]
    by_id = cli(capsys, "--home", str(queued), "items", "history", item_id)
    assert by_id.stdout == by_ref.stdout
    assert "Out of stock: Doohickey" in by_ref.stdout


def test_a_reference_in_several_flows_asks_for_the_flow_and_flow_picks_one(queued, capsys):
    ambiguous = cli(capsys, "--home", str(queued), "items", "history", "ORD-0001")
    assert ambiguous.returncode == 2
    assert "the reference 'ORD-0001' is in the queues of several flows: 'Order entry' (id" in ambiguous.stderr
    assert "say which with --flow NAME" in ambiguous.stderr
    picked = cli(capsys, "--home", str(queued), "items", "history", "ORD-0001", "--flow", "Invoices")
    assert picked.returncode == 0 and picked.stdout.startswith("Invoices / ORD-0001")
    by_file = cli(capsys, "--home", str(queued), "items", "history", "ORD-0001", "--flow", "order_entry.yaml")
    assert by_file.returncode == 0 and by_file.stdout.startswith("Order entry / ORD-0001")


def test_an_unknown_reference_is_a_clear_error(queued, capsys):
    done = cli(capsys, "--home", str(queued), "items", "history", "ORD-9999")
    assert done.returncode == 2
    assert "no work item has the reference 'ORD-9999': see `items list FLOW`" in done.stderr


def test_items_requeue_accepts_the_item_reference(queued, capsys):
    done = cli(capsys, "--home", str(queued), "items", "requeue", "ORD-0007", "--note", "stock arrived")
    assert done.returncode == 0, done.stderr
    assert "Order entry / ORD-0007 is queued again" in done.stdout
    with open_work_queue(queued / "queue.db") as queue:
        states = {item.reference: item.state for item in queue.items("Order entry")}
    assert states["ORD-0007"] == "new"


# --- notifications -----------------------------------------------------------------------------------------


def test_notifications_check_without_a_file_says_there_is_nothing_to_check(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("BASTIDOR_NOTIFICATIONS", raising=False)
    monkeypatch.chdir(tmp_path)
    done = cli(capsys, "notifications", "check")
    assert done.returncode == 0, done.stderr
    assert f"no notifications file: {tmp_path.resolve() / 'notifications.yaml'} does not exist" in done.stdout
    assert "notifications are off and there is nothing to check" in done.stdout
    tested = cli(capsys, "notifications", "test")
    assert tested.returncode == 2 and "no channel to send a test message through" in tested.stderr


# --- serve and the demo portal -----------------------------------------------------------------------------


def test_serve_prints_one_line_per_run_started_and_finished_with_the_flow_name_as_written(tmp_path):
    write_items(tmp_path, 1)
    write_schedules(tmp_path, enabled=False)
    (tmp_path / "totals.yaml").write_text(MARKUP_FLOW, encoding="utf-8")
    service = serve(tmp_path, "--workers", "1")
    try:
        assert wait_until(lambda: "scheduler active" in service.log.read_text(), timeout=60)
        queued = runner("--home", str(tmp_path / "home"), "trigger", "totals.yaml", cwd=tmp_path)
        assert queued.returncode == 0, queued.stderr
        assert wait_until(lambda: " failed in " in service.log.read_text(), timeout=90), service.log.read_text()
    finally:
        text = stop(service)
    started = [line for line in text.splitlines() if " started: " in line]
    finished = [line for line in text.splitlines() if " failed in " in line]
    assert len(started) == 1 and len(finished) == 1, text
    run_id = started[0].split()[1]
    assert started[0].startswith(f"run {run_id} started: [bold]Totals[/bold] check (bot ")
    assert finished[0].startswith(f"run {run_id} failed in ")
    assert ": [bold]Totals[/bold] check; items: 2 total, 1 succeeded, 1 failed (bot " in finished[0]


def test_serve_demo_portal_takes_a_port_and_prints_its_address_while_it_is_up(tmp_path):
    write_items(tmp_path, 1)
    write_schedules(tmp_path, enabled=False)
    port = free_port()
    service = serve(tmp_path, "--workers", "1", "--demo-portal", "--port", str(port))
    try:
        address = f"demo portal at http://127.0.0.1:{port} "
        assert wait_until(lambda: address in service.log.read_text(), timeout=60), service.log.read_text()
        assert httpx.get(f"http://127.0.0.1:{port}/login", timeout=10).status_code == 200
    finally:
        text = stop(service)
    assert f"demo portal at http://127.0.0.1:{port} stopped" in text


def test_port_without_demo_portal_or_on_a_taken_port_is_a_clear_error(tmp_path):
    write_items(tmp_path, 1)
    write_schedules(tmp_path, enabled=False)
    home = str(tmp_path / "home")
    alone = runner("--home", home, "serve", "--port", "9999", cwd=tmp_path)
    assert alone.returncode == 2 and "--port is the demo portal's port: add --demo-portal" in alone.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        served = runner("--home", home, "serve", "--demo-portal", "--port", port, cwd=tmp_path)
        demo = runner("--home", home, "demo", "--port", port, cwd=tmp_path)
    for done in (served, demo):
        assert done.returncode == 2 and f"Cannot listen on 127.0.0.1:{port}" in done.stderr
        assert "Traceback" not in done.stderr


def test_demo_takes_a_port_and_prints_the_portal_address_before_the_run(tmp_path):
    (tmp_path / "look.yaml").write_text(
        "name: Look at the portal\nsecrets: [PORTAL_USER, PORTAL_PASSWORD]\nbot: {base_url: 'http://127.0.0.1:1'}\n"
        "steps:\n  - call: " + str(REPO / "flows" / "common" / "login.yaml") + "\n  - open: /orders\n",
        encoding="utf-8")
    port = free_port()
    done = runner("--home", str(tmp_path / "home"), "demo", "--port", str(port), "--flow", "look.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"demo portal running at http://127.0.0.1:{port} (user analyst) until the run ends"
    assert any(line.startswith("SUCCEEDED Look at the portal") for line in lines), done.stdout


def test_run_lines_escape_markup_and_keep_a_not_run_reason_on_one_line():
    out = io.StringIO()
    console = Console(file=out, highlight=False, soft_wrap=True, color_system=None)
    result = SimpleNamespace(run_id="r-1", status="crashed", flow="[red]Orders[/]", duration_s=1.5, items_total=3,
                             items_succeeded=1, items_failed=1, items_postponed=0, items_interrupted=1,
                             already_processed=2, error="browser [gone]")
    print_run_finished("host-1-w1", result, console)
    print_request_not_run("host-1-w1", 7, "flows/[x].yaml", "a.yaml:3:5: unknown action\na.yaml:4:5: bad", console)
    assert out.getvalue().splitlines() == [
        ("run r-1 crashed in 1.5 s: [red]Orders[/]; items: 3 total, 1 succeeded, 1 failed, 1 interrupted, "
         "2 already processed; error: browser [gone] (bot host-1-w1)"),
        "request 7 not run: flows/[x].yaml: a.yaml:3:5: unknown action; a.yaml:4:5: bad (bot host-1-w1)",
    ]


# --- start-up: what help and validate import ---------------------------------------------------------------

HEAVY = ("playwright", "starlette", "uvicorn", "sqlalchemy", "structlog", "apscheduler", "holidays", "httpx",
         "openpyxl", "jinja2", "cryptography", "alembic", "psycopg")
"""Libraries that take a noticeable part of a second to import and that neither help nor `validate` needs."""


def imported_by(*arguments: str) -> set[str]:
    """The modules a fresh interpreter has imported after `runner.py ARGUMENTS` (help exits; that is fine)."""
    script = ("import contextlib, io, json, sys\n"
              "from bastidor.cli.main import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    try:\n"
              f"        main({list(arguments)!r})\n"
              "    except SystemExit:\n"
              "        pass\n"
              "sys.stderr.write(json.dumps(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    return set(json.loads(done.stderr.splitlines()[-1]))


@pytest.mark.parametrize("arguments", [("--help",), ("run", "--help"), ("serve", "--help"),
                                       ("validate", "flows/invoice.yaml")], ids=" ".join)
def test_help_and_validate_import_no_browser_web_or_database_library(arguments):
    heavy = sorted(name for name in imported_by(*arguments) if name.split(".")[0] in HEAVY)
    assert not heavy, f"runner.py {' '.join(arguments)} imports {heavy[:8]}: import them where they are used"


# --- an empty run history -----------------------------------------------------------------------------------


def test_runs_list_of_a_home_with_no_runs_says_so_in_one_line_with_the_absolute_home(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    done = cli(capsys, "runs", "list", "--home", "fresh-home")
    assert done.returncode == 0, done.stderr
    home = (tmp_path / "fresh-home").resolve()
    assert done.stdout.splitlines() == [
        f"no runs yet in {home}; start one with: python runner.py run flows/<flow>.yaml"]
    assert json.loads(cli(capsys, "runs", "list", "--json", "--home", "fresh-home").stdout) == []


def test_runs_list_of_a_flow_with_no_runs_names_the_flow_it_looked_for(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.yaml").write_text("name: Hello\nsteps:\n  - log: hi\n", encoding="utf-8")
    assert cli(capsys, "--home", "home", "run", "hello.yaml").returncode == 0
    filtered = cli(capsys, "runs", "list", "--flow", "Order entry", "--home", "home")
    home = (tmp_path / "home").resolve()
    assert filtered.stdout.splitlines() == [
        f"no runs of 'Order entry' in {home}; start one with: python runner.py run flows/<flow>.yaml"]
    listed = cli(capsys, "runs", "list", "--home", "home").stdout
    assert "Hello" in listed and "succeeded" in listed and "no runs" not in listed
