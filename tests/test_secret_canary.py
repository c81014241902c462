"""A planted secret must appear nowhere: audit log, run store, report, console, trace or error texts."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import PORTAL_PASSWORD, PORTAL_USER

REPO = Path(__file__).resolve().parents[1]

CANARY_FLOW = """
name: Canary
secrets: [PORTAL_USER, PORTAL_PASSWORD, CANARY]
bot: {{timeout: 2s, trace_on_failure: true}}
steps:
  - call: {login}
  - open: /customers/new
  - fill: {{label: Company, value: "{{{{ secrets.CANARY }}}}"}}
  - log: "the token is {{{{ secrets.CANARY }}}}"
  - set: {{shout: "{{{{ upper(secrets.CANARY) + '!' }}}}", plain: "{{{{ secrets.CANARY }}}}"}}
  - assert_url: {{contains: "{{{{ secrets.CANARY }}}}"}}
"""


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory, portal):
    """Run the canary flow through the command line (once for this module) and collect what it left."""
    tmp_path = tmp_path_factory.mktemp("canary")
    canary = "cnry-" + secrets.token_hex(8)
    flow = tmp_path / "canary.yaml"
    flow.write_text(CANARY_FLOW.format(login=REPO / "flows" / "common" / "login.yaml"))
    env = dict(os.environ, BASTIDOR_SECRET_CANARY=canary, BASTIDOR_SECRET_PORTAL_USER=PORTAL_USER,
               BASTIDOR_SECRET_PORTAL_PASSWORD=PORTAL_PASSWORD, BASTIDOR_HOME=str(tmp_path / "home"))
    outputs = []
    for args in (["run", str(flow), "--base-url", portal.url], ["runs", "show", "last"],
                 ["runs", "show", "last", "--json"], ["runs", "list", "--json"], ["report", "last"],
                 ["audit", "verify", "last"]):
        done = subprocess.run([sys.executable, str(REPO / "runner.py"), *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=180)
        outputs.append(done.stdout + done.stderr)
    return canary, outputs, tmp_path / "home"


def test_canary_run_fails_where_expected(canary_run):
    canary, outputs, home = canary_run
    assert "FAILED Canary" in outputs[0]
    assert "expected the page address to contain '***'" in outputs[0]


def test_canary_secret_is_in_no_console_output(canary_run):
    canary, outputs, _ = canary_run
    for output in outputs:
        assert canary not in output and canary.upper() not in output


def test_canary_secret_is_in_no_file_the_run_left(canary_run):
    canary, _, home = canary_run
    files = [p for p in home.rglob("*") if p.is_file() and p.suffix != ".png"]
    assert any(p.name == "audit.jsonl" for p in files) and any(p.name == "report.html" for p in files)
    for path in files:
        data = path.read_bytes()
        assert canary.encode() not in data and canary.upper().encode() not in data, path


def test_canary_secret_is_in_no_trace_entry(canary_run):
    canary, _, home = canary_run
    traces = list(home.rglob("trace.zip"))
    assert traces, "the failed run should keep a trace"
    with zipfile.ZipFile(traces[0]) as archive:
        for name in archive.namelist():
            assert canary.encode() not in archive.read(name), name
