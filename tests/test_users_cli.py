"""`runner.py users ...` manages console users with passwords read from standard input, and
`runner.py dashboard` serves the console on 127.0.0.1 and says how to add the first user."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bastidor.cli.main import main
from bastidor.console.db import open_console_db
from bastidor.console.users import UserStore, users_table

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse-battery"


def users_cmd(home: Path, monkeypatch, *args: str, stdin: str = "") -> int:
    """Run `users ...` in-process with `stdin` as standard input (not a terminal)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["--home", str(home), "users", *args])


def stored_hashes(home: Path) -> list[str]:
    """The password hashes in the console database."""
    engine = open_console_db(home / "console.db")
    with engine.connect() as connection:
        hashes = [row.password_hash for row in connection.execute(users_table.select())]
    engine.dispose()
    return hashes


def console_audit(home: Path) -> list[dict]:
    """The console audit log's records."""
    return [json.loads(line) for line in (home / "audit" / "console.jsonl").read_text().splitlines()]


def test_add_reads_the_password_from_standard_input_and_stores_only_an_argon2_hash(tmp_path, monkeypatch, capsys):
    assert users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "admin", stdin=PASSWORD + "\n") == 0
    out = capsys.readouterr()
    assert "added alice (admin)" in out.out
    assert PASSWORD not in out.out + out.err
    [stored] = stored_hashes(tmp_path)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    users = UserStore(open_console_db(tmp_path / "console.db"))
    assert users.authenticate("alice", PASSWORD).role == "admin"
    assert users.authenticate("alice", "wrong-password") is None


def test_the_password_cannot_be_given_as_an_argument(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "admin", "--password", PASSWORD)
    assert PASSWORD not in capsys.readouterr().out


@pytest.mark.parametrize(("typed", "message"), [
    ("\n", "the password is empty"),
    ("", "the password is empty"),
    ("short\n", "the password is too short (5 characters): use at least 8"),
])
def test_empty_or_short_passwords_are_refused_with_a_clear_message(tmp_path, monkeypatch, capsys, typed, message):
    assert users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "viewer", stdin=typed) == 2
    assert message in capsys.readouterr().err
    assert stored_hashes(tmp_path) == []


def test_bad_names_and_taken_names_are_refused_before_asking_for_a_password(tmp_path, monkeypatch, capsys):
    assert users_cmd(tmp_path, monkeypatch, "add", "bad name!", "--role", "viewer", stdin=PASSWORD) == 2
    assert "is not a valid user name" in capsys.readouterr().err
    users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "viewer", stdin=PASSWORD)
    assert users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "admin", stdin=PASSWORD) == 2
    assert "there is already a user named 'alice'" in capsys.readouterr().err


def test_list_shows_name_role_and_when_added(tmp_path, monkeypatch, capsys):
    users_cmd(tmp_path, monkeypatch, "list")
    assert "no users yet: add one with `runner.py users add NAME --role admin`" in capsys.readouterr().out
    users_cmd(tmp_path, monkeypatch, "add", "bob", "--role", "operator", stdin=PASSWORD)
    users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "admin", stdin=PASSWORD)
    capsys.readouterr()
    assert users_cmd(tmp_path, monkeypatch, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "CREATED", "(UTC)"]
    assert [line.split()[:2] for line in lines[1:]] == [["alice", "admin"], ["bob", "operator"]]
    assert PASSWORD not in "\n".join(lines)


def test_remove_and_set_role_change_users_but_never_drop_the_last_admin(tmp_path, monkeypatch, capsys):
    users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "admin", stdin=PASSWORD)
    users_cmd(tmp_path, monkeypatch, "add", "bob", "--role", "viewer", stdin=PASSWORD)
    assert users_cmd(tmp_path, monkeypatch, "remove", "alice") == 2
    assert "'alice' is the last admin: add another admin first" in capsys.readouterr().err
    assert users_cmd(tmp_path, monkeypatch, "set-role", "bob", "admin") == 0
    assert users_cmd(tmp_path, monkeypatch, "remove", "alice") == 0
    assert users_cmd(tmp_path, monkeypatch, "remove", "carol") == 2
    assert "there is no user named 'carol'" in capsys.readouterr().err
    users = UserStore(open_console_db(tmp_path / "console.db"))
    assert [(u.name, u.role) for u in users.list()] == [("bob", "admin")]


def test_set_password_reads_the_new_one_from_standard_input(tmp_path, monkeypatch):
    users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "admin", stdin=PASSWORD)
    assert users_cmd(tmp_path, monkeypatch, "set-password", "alice", stdin="another-password\n") == 0
    users = UserStore(open_console_db(tmp_path / "console.db"))
    assert users.authenticate("alice", "another-password") is not None
    assert users.authenticate("alice", PASSWORD) is None


def test_user_changes_are_in_the_console_audit_log_without_passwords(tmp_path, monkeypatch):
    users_cmd(tmp_path, monkeypatch, "add", "alice", "--role", "admin", stdin=PASSWORD)
    users_cmd(tmp_path, monkeypatch, "add", "bob", "--role", "viewer", stdin=PASSWORD)
    users_cmd(tmp_path, monkeypatch, "set-role", "bob", "operator")
    users_cmd(tmp_path, monkeypatch, "remove", "bob")
    records = console_audit(tmp_path)
    assert [(r["action"], r["name"], r["via"]) for r in records] == [
        ("user.add", "alice", "command line"), ("user.add", "bob", "command line"),
        ("user.set_role", "bob", "command line"), ("user.remove", "bob", "command line")]
    assert PASSWORD not in (tmp_path / "audit" / "console.jsonl").read_text()
    assert main(["audit", "verify", str(tmp_path / "audit" / "console.jsonl")]) == 0


def test_users_add_as_a_separate_process_with_the_password_piped_in(tmp_path):
    command = [sys.executable, str(REPO / "runner.py"), "--home", str(tmp_path), "users", "add", "alice",
               "--role", "admin"]
    done = subprocess.run(command, input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr and PASSWORD not in " ".join(command)
    assert len(stored_hashes(tmp_path)) == 1


def test_dashboard_serves_the_console_on_localhost_and_says_how_to_add_the_first_user(tmp_path):
    command = [sys.executable, str(REPO / "runner.py"), "--home", str(tmp_path), "dashboard", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = process.stdout.readline()
        assert first.startswith("Bastidor console at http://127.0.0.1:"), first + process.stderr.read()
        url = first.split()[3]
        assert "users add NAME --role admin" in process.stdout.readline() + process.stdout.readline()
        response = httpx.get(f"{url}/login", timeout=20)
        assert response.status_code == 200 and "Sign in" in response.text
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    key = tmp_path / "console.key"
    assert key.is_file() and oct(key.stat().st_mode & 0o777) == "0o600"


def test_removing_a_user_ends_their_console_sessions_even_if_the_name_is_added_again(tmp_path, monkeypatch):
    from console_support import make_console

    console = make_console(tmp_path, home=tmp_path)
    viewer = console.client("viewer")
    assert viewer.get("/runs").status_code == 200
    assert users_cmd(tmp_path, monkeypatch, "remove", viewer.user.name) == 0
    assert users_cmd(tmp_path, monkeypatch, "add", viewer.user.name, "--role", "admin", stdin=PASSWORD) == 0
    assert viewer.get("/runs").status_code == 303
    console.close()


def test_a_user_change_that_cannot_be_recorded_is_not_made_and_says_why(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    (home / "audit" / "console.jsonl").mkdir(parents=True)  # the audit log cannot be written
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    code = main(["--home", str(home), "users", "add", "maria", "--role", "operator"])
    captured = capsys.readouterr()
    assert code == 3 and "not done: the audit log could not be written" in captured.err
    assert main(["--home", str(home), "users", "list"]) == 0
    assert "maria" not in capsys.readouterr().out
