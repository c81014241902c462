"""One console for many machines: with `--database URL`, a console started on one home folder shows the runs,
items, KPIs, exceptions and users recorded by the others, a user added on one machine signs in on any
console, and sessions (kept in the shared database) end everywhere when the user is removed.

Homes B and C play two bot machines (`runner.py run --home B --database URL`, real processes); home A
plays the supervisor's machine. The console's audit log and evidence pages are tested elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import shutil

import httpx
import pytest

from bastidor.queue import open_work_queue
from console_items_support import PRICE_FLOW_NAME, fail_in_queue, write_price_flow
from console_support import CSRF_META, make_console, password_for

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse-battery"


def runner(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`runner.py ARGS` as a separate process (the database and home are in ARGS)."""
    return subprocess.run([sys.executable, str(REPO / "runner.py"), *args], input=stdin, capture_output=True,
                          text=True, timeout=120, cwd=cwd)


@pytest.fixture
def machines(tmp_path, pg_url):
    """Homes A, B and C on one database; B and C have each run the price flow once (2 items succeed,
    C-3 and D-4 are business exceptions). Returns (homes, {home name: run id})."""
    homes = {name: tmp_path / name for name in "ABC"}
    flow = write_price_flow(tmp_path)
    bots = {name: subprocess.Popen([sys.executable, str(REPO / "runner.py"), "run", str(flow), "--home",
                                    str(homes[name]), "--database", pg_url], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, cwd=tmp_path) for name in "BC"}
    run_ids = {}
    for name, bot in bots.items():
        out, err = bot.communicate(timeout=120)
        assert bot.returncode == 1, out + err  # the run ends failed: two business exceptions
        run_ids[name] = re.search(r"\(run (\S+)\)", out).group(1)
    return homes, run_ids


def sign_in(client: httpx.Client, name: str, password: str) -> httpx.Response:
    """Sign in through the login form, with the CSRF token the form carries."""
    token = CSRF_META.search(client.get("/login").text).group(1)
    return client.post("/login", data={"username": name, "password": password, "next": "/", "csrf_token": token})


def start_dashboard(home: Path, url: str, flows: Path) -> tuple[subprocess.Popen, str]:
    """`runner.py dashboard --home HOME --database URL` on a free port; the process and its address."""
    process = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "dashboard", "--home", str(home),
                                "--database", url, "--port", "0", "--flows", str(flows)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in process.stdout:
        if line.startswith("Bastidor console at "):
            return process, line.split()[3]
    raise AssertionError(f"the dashboard did not start: {process.stderr.read()}")


def test_a_dashboard_on_one_home_shows_the_runs_items_kpis_and_users_of_the_other_machines(
        machines, pg_url, tmp_path):
    homes, run_ids = machines
    for name in "BC":
        added = runner("users", "add", f"boss-{name}", "--role", "admin", "--home", str(homes[name]),
                       "--database", pg_url, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    for name in "BC":
        shutil.rmtree(homes[name])  # as on other machines: none of their files is here
    dashboard, address = start_dashboard(homes["A"], pg_url, tmp_path)
    try:
        with httpx.Client(base_url=address, timeout=20) as client:
            assert sign_in(client, "boss-B", PASSWORD).status_code == 303, "a user added on B signs in on A"
            runs_page = client.get("/runs").text
            assert run_ids["B"] in runs_page and run_ids["C"] in runs_page
            items_page = client.get("/items", params={"ref": "C-3"}).text
            assert items_page.count("C-3") >= 2 and run_ids["B"] in items_page and run_ids["C"] in items_page
            assert client.get(f"/items/{run_ids['C']}/D-4").status_code == 200
            kpis = client.get("/kpis").text
            assert PRICE_FLOW_NAME in kpis and "50%" in kpis  # 4 of 8 items succeeded
            exceptions = client.get("/exceptions").text
            assert all(run_ids[name] in exceptions for name in "BC") and "D-4" in exceptions
            users_page = client.get("/users").text
            assert "boss-B" in users_page and "boss-C" in users_page
    finally:
        dashboard.send_signal(signal.SIGINT)
        dashboard.wait(timeout=30)


def test_consoles_on_two_machines_share_users_sessions_and_exception_work(machines, pg_url, tmp_path, monkeypatch):
    homes, run_ids = machines
    monkeypatch.setenv("BASTIDOR_DATABASE_URL", pg_url)
    console_a = make_console(tmp_path, home=homes["A"])
    console_b = make_console(tmp_path, home=homes["B"])
    try:
        operator = console_a.client("operator")  # added on A, through A's console
        on_b = console_b.client(name=operator.user.name)
        assert on_b.user is not None and on_b.get("/exceptions").status_code == 200
        refused = on_b.post("/exceptions/assign", data={"run_id": run_ids["C"], "item_ref": "C-3"}, csrf=False)
        assert refused.status_code == 403
        assigned = on_b.post("/exceptions/assign", data={"run_id": run_ids["C"], "item_ref": "C-3",
                                                         "assignee": operator.user.name})
        assert assigned.status_code == 303
        case_on_a = operator.get(f"/exceptions/{run_ids['C']}/C-3").text
        assert "Assigned" in case_on_a and operator.user.name in case_on_a
        removed = runner("users", "remove", operator.user.name, "--home", str(homes["C"]), "--database", pg_url)
        assert removed.returncode == 0, removed.stderr
        assert operator.get("/runs").status_code == 303 and on_b.get("/runs").status_code == 303, \
            "removing the user on C ends their sessions on every console"
    finally:
        console_a.close()
        console_b.close()


def test_run_history_commands_on_one_home_read_the_runs_of_the_other_machines(machines, pg_url, tmp_path):
    homes, run_ids = machines
    listed = runner("runs", "list", "--json", "--home", str(homes["A"]), "--database", pg_url)
    assert listed.returncode == 0, listed.stderr
    assert sorted(run["run_id"] for run in json.loads(listed.stdout)) == sorted(run_ids.values())
    shown = runner("runs", "show", run_ids["B"], "--home", str(homes["A"]), "--database", pg_url)
    assert shown.returncode == 0 and "D-4" in shown.stdout, shown.stderr
    shutil.rmtree(homes["C"])  # as on another machine: C's run folder is not here
    reported = runner("report", run_ids["C"], "--home", str(homes["A"]), "--database", pg_url)
    assert reported.returncode == 0, reported.stderr
    assert Path(reported.stdout.strip()) == homes["A"] / "runs" / run_ids["C"] / "report.html"
    assert run_ids["C"] in Path(reported.stdout.strip()).read_text(encoding="utf-8")
    nothing = runner("runs", "list", "--flow", "Nope", "--home", str(homes["A"]), "--database", pg_url)
    assert "no runs of 'Nope' in postgresql+psycopg://postgres@127.0.0.1" in nothing.stdout


def test_a_user_added_on_one_home_signs_in_on_a_console_started_on_another(tmp_path, pg_url, monkeypatch):
    added = runner("users", "add", "ana", "--role", "viewer", "--home", str(tmp_path / "A"), "--database", pg_url,
                   stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    monkeypatch.setenv("BASTIDOR_DATABASE_URL", pg_url)
    console = make_console(tmp_path, home=tmp_path / "B")
    try:
        client = console.client(None)
        assert console.sign_in(client, "ana", PASSWORD).status_code == 303
        assert client.get("/runs").status_code == 200
        assert console.sign_in(console.client(None), "ana", password_for("ana")).status_code == 401
    finally:
        console.close()


def test_item_commands_on_one_home_read_the_work_queue_the_machines_share(tmp_path, pg_url):
    with open_work_queue(pg_url) as queue:  # as a bot on machine B does
        fail_in_queue(queue, PRICE_FLOW_NAME, "C-3", "quantity must be at least 1 for C-3")
    home = str(tmp_path / "A")
    listed = runner("items", "list", PRICE_FLOW_NAME, "--json", "--home", home, "--database", pg_url)
    assert listed.returncode == 0, listed.stderr
    assert [(item["reference"], item["state"]) for item in json.loads(listed.stdout)] == [("C-3", "failed")]
    history = runner("items", "history", "C-3", "--home", home, "--database", pg_url)
    assert history.returncode == 0 and "in_progress -> failed" in history.stdout, history.stderr
    none = runner("items", "list", "Other flow", "--home", home, "--database", pg_url)
    assert "no items in the queue 'Other flow'; flows with queued items: 'Price lines'" in none.stdout
