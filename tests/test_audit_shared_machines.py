"""A run executed with one home folder is verified, shown and served from another that shares only the database.

Home A runs a real flow against the demo portal (a screenshot step, then a failing step with its failure
screenshot) with the shared database set; home B has no shared folder, only the database URL. The module
shares one run and one throwaway database; tests that tamper with the database put it back as it was.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import text

from bastidor.cli.main import main
from bastidor.database.engines import postgres_engine
from console_support import make_console
from pg_support import create_database, drop_database, require_postgres

FLOWS = Path(__file__).resolve().parents[1] / "flows"
EVIDENCE_FLOW = """
name: Evidence
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 2s}
steps:
  - call: LOGIN
  - screenshot: after-login
  - assert_text: {role: heading, equals: Front office}
"""


@dataclass
class MachineRun:
    """The run home A made, and where everything is."""

    url: str
    run_id: str
    run_dir: Path
    home_b: Path

    def lines_with(self, text_in_line: str) -> list[int]:
        """The numbers of the run's audit lines holding `text_in_line`."""
        lines = (self.run_dir / "audit.jsonl").read_text(encoding="utf-8").splitlines()
        return [number for number, line in enumerate(lines, start=1) if text_in_line in line]


@pytest.fixture(scope="module")
def machine_run(tmp_path_factory, portal, bot):
    """One run of the evidence flow on home A, shipped to a database of this module's own."""
    from bastidor.executor.run import RunOptions, run_flow
    from bastidor.flow.loader import load_flow
    from bastidor.secrets import default_secrets
    from bastidor.store import open_run_store
    from conftest import PORTAL_PASSWORD, PORTAL_USER

    require_postgres()
    url, folder = create_database(), tmp_path_factory.mktemp("machines")
    (folder / "evidence.yaml").write_text(EVIDENCE_FLOW.replace("LOGIN", str(FLOWS / "common" / "login.yaml")))
    httpx.post(f"{portal.url}/api/reset").raise_for_status()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BASTIDOR_DATABASE_URL", url)
        store = open_run_store(url)
        secrets = default_secrets(extra={"PORTAL_USER": PORTAL_USER, "PORTAL_PASSWORD": PORTAL_PASSWORD})
        result = run_flow(load_flow(folder / "evidence.yaml"), RunOptions(
            home=folder / "a", base_url=portal.url, bot=bot, secrets=secrets, sleep=lambda seconds: None), store)
        store.close()
    assert result.status == "failed"
    yield MachineRun(url, result.run_id, result.run_dir, folder / "b")
    drop_database(url)


@contextlib.contextmanager
def on_machine_b(machine_run: MachineRun):
    """Home A's folder out of reach, as on another machine (home B then has only the database)."""
    home_a = machine_run.run_dir.parents[1]
    away = home_a.with_name("machine-a-elsewhere")
    home_a.rename(away)
    try:
        yield
    finally:
        away.rename(home_a)


@contextlib.contextmanager
def behind_the_trigger(url: str, table: str, change: str, undo: str, **values):
    """As the database's owner: switch the append-only trigger off, `change` the table, and undo it after."""
    def run(statement: str) -> None:
        with postgres_engine(url).begin() as connection:
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
            connection.execute(text(statement), values)
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))

    run(change)
    try:
        yield
    finally:
        run(undo)


def verify_on(home: str, machine_run: MachineRun, capsys) -> tuple[int, str]:
    """`audit verify RUN --home HOME --database URL` on home "a" or home "b" (home A's folder then out of
    reach, as on another machine): its exit code and output."""
    folder = machine_run.run_dir.parents[1] if home == "a" else machine_run.home_b
    with on_machine_b(machine_run) if home == "b" else contextlib.nullcontext():
        code = main(["audit", "verify", machine_run.run_id, "--home", str(folder), "--database", machine_run.url])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_run_from_home_a_verifies_on_home_b_from_the_database_alone(machine_run, capsys):
    code, out = verify_on("b", machine_run, capsys)
    assert code == 0, out
    assert out.startswith(f"OK: the shared database's copy of run {machine_run.run_id}: ")
    assert "2 evidence files match" in out and not (machine_run.home_b / "runs").exists()


def test_home_a_says_its_file_and_the_database_hold_the_same_lines(machine_run, capsys):
    code, out = verify_on("a", machine_run, capsys)
    assert code == 0, out
    assert "The shared database holds the same" in out and "lines as the local file." in out


def test_the_console_on_home_b_shows_the_verified_run_and_serves_its_screenshot(machine_run, tmp_path, monkeypatch):
    from bastidor.audit.reading import read_records
    from bastidor.store import open_run_store

    monkeypatch.setenv("BASTIDOR_DATABASE_URL", machine_run.url)
    shot = next((machine_run.run_dir / "screenshots").glob("step-*.png"))
    expected = shot.read_bytes()
    console = make_console(tmp_path, home=machine_run.home_b, store=open_run_store(machine_run.url))
    try:
        with on_machine_b(machine_run):
            viewer = console.client("viewer")
            page = viewer.get(f"/runs/{machine_run.run_id}")
            served = viewer.get(f"/runs/{quote(machine_run.run_id)}/screenshots/{shot.name}")
            read_back = read_records(machine_run.run_dir / "audit.jsonl")
    finally:
        console.close()
    assert page.status_code == 200
    assert "Audit chain verified" in page.text and "read from the shared database" in page.text
    assert read_back == read_records(machine_run.run_dir / "audit.jsonl")  # the pages' step values, from the copy
    assert served.status_code == 200 and served.content == expected


def test_an_artifact_changed_behind_the_trigger_is_caught_by_verify(machine_run, capsys):
    [line] = machine_run.lines_with('"screenshot":"screenshots/after-login.png"')
    with behind_the_trigger(machine_run.url, "artifacts",
                            "UPDATE artifacts SET content = content || '\\x00'::bytea WHERE name = :name",
                            "UPDATE artifacts SET content = substring(content FROM 1 FOR size::int) WHERE name = :name",
                            name="screenshots/after-login.png"):
        code, out = verify_on("b", machine_run, capsys)
        assert code == 1
        assert (f"line {line} (seq {line}): the evidence file screenshots/after-login.png was changed after it "
                "was recorded: its SHA-256 no longer matches the one in the log") in out
        code, out = verify_on("a", machine_run, capsys)
        assert code == 1 and "screenshots/after-login.png in the shared database was changed" in out
    assert verify_on("b", machine_run, capsys)[0] == 0


def test_a_record_edited_behind_the_trigger_is_named_like_an_edited_file(machine_run, capsys):
    [line] = machine_run.lines_with('"screenshot":"screenshots/after-login.png"')
    with behind_the_trigger(machine_run.url, "audit_records",
                            "UPDATE audit_records SET line = convert_to(replace(convert_from(line, 'UTF8'), "
                            "'after-login', 'after-logon'), 'UTF8') WHERE log_id = :run AND line_no = :line",
                            "UPDATE audit_records SET line = convert_to(replace(convert_from(line, 'UTF8'), "
                            "'after-logon', 'after-login'), 'UTF8') WHERE log_id = :run AND line_no = :line",
                            run=machine_run.run_id, line=line):
        code, out = verify_on("b", machine_run, capsys)
        assert code == 1 and f"line {line} (seq {line}): record was edited: its hash does not match" in out
        code, out = verify_on("a", machine_run, capsys)
        assert code == 1 and f"line {line} of the audit log of run {machine_run.run_id} differs" in out
        assert "The local file and the shared database's copy DIFFER" in out
    assert verify_on("b", machine_run, capsys)[0] == 0
