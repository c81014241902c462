"""The console's sign-in, sessions, roles, CSRF protection and its audit log, over real HTTP requests."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bastidor.console.context import get_context
from bastidor.console.keys import load_or_create_secret_key
from bastidor.console.roles import role_at_least
from bastidor.console.security import require
from bastidor.console.throttle import LoginThrottle
from console_support import ConsoleClient, console, make_console, password_for  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def audit_records(home: Path) -> list[dict]:
    """The console audit log's records."""
    path = home / "audit" / "console.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def add_operator_action(console) -> list[str]:
    """A route that needs the operator role and records what it did (like requeue or resolve)."""
    done: list[str] = []

    def requeue(request):
        user = require(request, "operator")
        done.append(user.name)
        return PlainTextResponse("requeued")

    console.app.router.routes.insert(0, Route("/test/requeue", requeue, methods=["POST"]))
    return done


def test_signed_out_visitor_is_sent_to_sign_in_and_then_back_to_the_page_asked_for(console):
    anonymous = console.client(None)
    response = anonymous.get("/runs?status=failed")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fruns%3Fstatus%3Dfailed"
    console.add_user("alice", "viewer")
    login = anonymous.get(response.headers["location"])
    assert 'name="next" value="/runs?status=failed"' in login.text
    signed_in = anonymous.post("/login", data={"username": "alice", "password": password_for("alice"),
                                               "next": "/runs?status=failed"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/runs?status=failed"
    assert anonymous.get("/runs?status=failed").status_code == 200


def test_every_page_needs_a_signed_in_user(console):
    anonymous = console.client(None)
    for path in ("/", "/runs", "/runs/some-run", "/users", "/runs/x/screenshots/a.png"):
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_sign_in_never_redirects_to_another_site(console):
    console.add_user("alice", "viewer")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = console.client(None)
        response = client.post("/login", data={"username": "alice", "password": password_for("alice"),
                                               "next": target})
        assert response.headers["location"] == "/"


def test_wrong_password_and_unknown_user_get_the_same_generic_message(console):
    console.add_user("alice", "operator")
    client = console.client(None)
    wrong = client.post("/login", data={"username": "alice", "password": "not-her-password"})
    unknown = client.post("/login", data={"username": "mallory", "password": "whatever-123"})
    assert wrong.status_code == unknown.status_code == 401
    message = "The user name or password is not right."
    assert message in wrong.text and message in unknown.text
    assert client.get("/runs").status_code == 303  # still signed out


def test_sign_in_attempts_are_audited_without_the_password(console):
    console.add_user("alice", "viewer")
    client = console.client(None)
    client.post("/login", data={"username": "alice", "password": "guess-number-one"})
    console.sign_in(client, "alice", password_for("alice"))
    client.post("/logout")
    records = audit_records(console.home)
    assert [(r["event"], r["user"]) for r in records] == [
        ("console.login_failed", "alice"), ("console.login", "alice"), ("console.logout", "alice")]
    text = (console.home / "audit" / "console.jsonl").read_text()
    assert "guess-number-one" not in text and password_for("alice") not in text


def test_console_audit_log_verifies_and_its_chain_continues_after_a_restart(tmp_path):
    first = make_console(tmp_path)
    first.client("admin")
    first.close()
    second = make_console(tmp_path)  # same home folder, as after a restart
    second.client("viewer").post("/logout")
    second.close()
    records = audit_records(tmp_path / "home")
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[1]["prev_hash"] == records[0]["hash"]
    verify = subprocess.run([sys.executable, str(REPO / "runner.py"), "audit", "verify",
                             str(tmp_path / "home" / "audit" / "console.jsonl")], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith("OK:")


def test_edited_console_audit_record_is_named_by_the_verifier(console):
    console.client("viewer")
    console.client("admin")
    path = console.home / "audit" / "console.jsonl"
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace('"user":"viewer1"', '"user":"someone"')
    path.write_text("\n".join(lines) + "\n")
    verify = subprocess.run([sys.executable, str(REPO / "runner.py"), "audit", "verify", str(path)],
                            capture_output=True, text=True)
    assert verify.returncode == 1
    assert "line 1 (seq 1): record was edited" in verify.stdout


def test_session_cookie_is_httponly_and_samesite_strict(console):
    console.add_user("alice", "viewer")
    client = console.client(None)
    response = client.post("/login", data={"username": "alice", "password": password_for("alice")})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie


def test_session_cookie_is_https_only_when_configured(tmp_path):
    console = make_console(tmp_path, https_only=True)
    console.add_user("alice", "viewer")
    client = console.client(None)
    response = client.post("/login", data={"username": "alice", "password": password_for("alice")})
    assert "secure" in response.headers["set-cookie"].lower()
    console.close()


def test_pages_forbid_framing_and_outside_scripts(console):
    response = console.client("viewer").get("/runs")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_sign_in_form_without_the_csrf_token_is_refused(console):
    console.add_user("alice", "admin")
    client = console.client(None)
    response = client.post("/login", data={"username": "alice", "password": password_for("alice")}, csrf=False)
    assert response.status_code == 403
    assert "did not come from this console" in response.text
    assert client.get("/runs").status_code == 303


def test_form_with_a_token_from_another_session_is_refused_and_nothing_changes(console):
    admin = console.client("admin")
    other = console.client("admin")
    response = admin.post("/users", data={"name": "newbie", "role": "viewer", "password": "long-enough-1",
                                          "csrf_token": other.csrf_token})
    assert response.status_code == 403
    assert console.context.users.get("newbie") is None


def test_csrf_token_in_a_header_is_accepted(console):
    admin = console.client("admin")
    response = admin.post("/users", data={"name": "newbie", "role": "viewer", "password": "long-enough-1"},
                          csrf=False, headers={"X-CSRF-Token": admin.csrf_token})
    assert response.status_code == 303
    assert console.context.users.get("newbie").role == "viewer"


def test_viewer_posting_an_operator_form_gets_403_and_nothing_changes(console):
    done = add_operator_action(console)
    viewer = console.client("viewer")
    response = viewer.post("/test/requeue")
    assert response.status_code == 403
    assert "needs the operator role" in response.text
    assert done == []
    operator = console.client("operator")
    assert operator.post("/test/requeue").status_code == 200
    assert done == [operator.user.name]


def test_only_admins_manage_users_even_by_posting_the_form(console):
    operator = console.client("operator")
    assert operator.get("/users").status_code == 403
    response = operator.post("/users", data={"name": "sneaky", "role": "admin", "password": "long-enough-1"})
    assert response.status_code == 403
    assert console.context.users.get("sneaky") is None
    assert operator.post(f"/users/{operator.user.name}/role", data={"role": "admin"}).status_code == 403
    assert console.context.users.get(operator.user.name).role == "operator"


def test_admin_adds_changes_and_removes_a_user_and_each_change_is_audited(console):
    admin = console.client("admin")
    assert admin.post("/users", data={"name": "bob", "role": "viewer", "password": "bobs-password"}).status_code == 303
    assert admin.post("/users/bob/role", data={"role": "operator"}).status_code == 303
    assert console.context.users.get("bob").role == "operator"
    assert admin.post("/users/bob/remove").status_code == 303
    assert console.context.users.get("bob") is None
    actions = [(r["user"], r["action"], r["name"]) for r in audit_records(console.home)
               if r["event"] == "console.action"]
    assert actions == [(admin.user.name, "user.add", "bob"), (admin.user.name, "user.set_role", "bob"),
                       (admin.user.name, "user.remove", "bob")]
    assert "bobs-password" not in (console.home / "audit" / "console.jsonl").read_text()


def test_admin_page_says_why_a_short_password_was_refused(console):
    admin = console.client("admin")
    admin.post("/users", data={"name": "bob", "role": "viewer", "password": "short"})
    page = admin.get("/users")
    assert "The user was not added: the password is too short" in page.text
    assert console.context.users.get("bob") is None


def test_a_removed_user_is_signed_out_at_their_next_request(console):
    viewer = console.client("viewer")
    console.context.users.remove(viewer.user.name)
    assert viewer.get("/runs").status_code == 303


def test_a_role_change_takes_effect_at_the_next_request(console):
    done = add_operator_action(console)
    viewer = console.client("viewer")
    console.context.users.set_role(viewer.user.name, "operator")
    assert viewer.post("/test/requeue").status_code == 200
    assert done == [viewer.user.name]


def test_logout_needs_a_post_with_the_token_and_ends_the_session(console):
    viewer = console.client("viewer")
    assert viewer.get("/logout").status_code == 405
    assert viewer.post("/logout", csrf=False).status_code == 403
    assert viewer.get("/runs").status_code == 200
    response = viewer.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert viewer.get("/runs").status_code == 303


def test_repeated_failed_sign_ins_lock_the_name_for_a_while(console):
    console.add_user("alice", "viewer")
    client = console.client(None)
    for _ in range(5):
        client.post("/login", data={"username": "alice", "password": "wrong-password"})
    locked = client.post("/login", data={"username": "alice", "password": password_for("alice")})
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert client.get("/runs").status_code == 303


def test_a_lockout_ends_after_its_time():
    now = [1000.0]
    throttle = LoginThrottle(max_failures=2, window_s=60, lockout_s=30, clock=lambda: now[0])
    throttle.failed("alice")
    throttle.failed("ALICE")
    assert throttle.locked_for("alice") == 30
    now[0] += 31
    assert throttle.locked_for("alice") == 0


def test_roles_are_ranked_viewer_operator_admin():
    assert role_at_least("admin", "operator") and role_at_least("operator", "viewer")
    assert not role_at_least("viewer", "operator") and not role_at_least("operator", "admin")
    assert not role_at_least("superuser", "viewer")


def test_navigation_marks_the_current_section_and_shows_users_to_admins_only(console):
    viewer_page = console.client("viewer").get("/runs").text
    assert '<a href="/runs" aria-current="page">Runs</a>' in viewer_page
    assert 'href="/users"' not in viewer_page
    assert 'href="/users"' in console.client("admin").get("/runs").text


def test_session_key_is_made_once_and_readable_by_its_owner_only(tmp_path):
    key = load_or_create_secret_key(tmp_path)
    assert load_or_create_secret_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "console.key").stat().st_mode) == 0o600


def test_context_is_the_one_the_app_was_built_with(console):
    seen = []

    def probe(request):
        seen.append(get_context(request))
        return PlainTextResponse("ok")

    console.app.router.routes.insert(0, Route("/test/probe", probe))
    console.client(None).get("/test/probe")
    assert seen == [console.context]


def test_an_unexpected_error_shows_a_plain_page_without_internals(console, caplog):
    def broken(request):
        require(request)
        raise RuntimeError("internal detail /srv/secret/path")

    console.app.router.routes.insert(0, Route("/test/broken", broken))
    viewer = console.client("viewer")
    with ConsoleClient(console.app, raise_server_exceptions=False, cookies=viewer.cookies) as client:
        response = client.get("/test/broken")
    assert response.status_code == 500
    assert "Something went wrong" in response.text and "/srv/secret/path" not in response.text


def test_a_copy_of_the_session_cookie_is_useless_after_signing_out(console):
    viewer = console.client("viewer")
    kept = dict(viewer.cookies)
    assert viewer.post("/logout").status_code == 303
    with ConsoleClient(console.app, base_url="http://testserver", follow_redirects=False, cookies=kept) as replay:
        assert replay.get("/runs").status_code == 303
