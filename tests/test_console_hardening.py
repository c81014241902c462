"""The console under a security and correctness review: roles that do not exist, admins removing each other at
once, dates at the ends of the calendar, links out of the flows and screenshots folders, sign-in values meant
to mislead, two operators on one exception, and actions whose audit record cannot be written (undone)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from console_items_support import add_item, add_run, day, fail_in_queue
from console_support import CHEAP_HASHER, Console, make_console, password_for

from bastidor.console.data import exception_actions as actions
from bastidor.console.data.exceptions import case_history, get_case, sync_cases
from bastidor.console.data.run_detail import screenshot_file
from bastidor.console.db import open_console_db
from bastidor.console.users import UserError, UserStore
from bastidor.service.pauses import open_schedule_pauses
from bastidor.store import RunRecord, StepRecord

FLOW = "Orders"
SCHEDULES = "schedules:\n  - id: nightly\n    flow: flows/tiny.yaml\n    trigger: {cron: '0 2 * * *'}\n"


@pytest.fixture
def console(tmp_path: Path):
    """A console with a flow, a schedule and a run whose two items are business exceptions (ORD-1, ORD-2)."""
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    made = make_console(tmp_path, flows_dir=tmp_path / "flows", schedules_path=tmp_path / "schedules.yaml")
    add_run(made.context.store, "R1", FLOW, day(2026, 11, 2))
    for ref in ("ORD-1", "ORD-2"):
        add_item(made.context.store, "R1", ref, day(2026, 11, 2), status="failed", exception="business",
                 reason=f"out of stock for {ref}")
    yield made
    made.close()


def audit_records(console: Console) -> list[dict]:
    """Every record of the console audit log."""
    path = console.home / "audit" / "console.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def actions_of(console: Console) -> list[tuple[str, str]]:
    """(user, action) of each console.action record, in order."""
    return [(r["user"], r["action"]) for r in audit_records(console) if r["event"] == "console.action"]


def break_audit_log(console: Console) -> None:
    """Make the console audit log unwritable (a folder where the file should be), as a full disk would."""
    path = console.home / "audit" / "console.jsonl"
    path.unlink(missing_ok=True)
    path.mkdir(parents=True)


def case_form(item_ref: str, **fields: str) -> dict:
    """The fields of an exception action form."""
    return {"run_id": "R1", "item_ref": item_ref, **fields}


def post_routes(console: Console) -> list[tuple[str, str]]:
    """(address, least role) of every form the console accepts, sign-in and sign-out aside."""
    found = []
    for route in console.app.routes:
        if "POST" in (getattr(route, "methods", None) or ()) and route.path not in ("/login", "/logout"):
            address = route.path.replace("{schedule_id}", "nightly").replace("{name}", "bob")
            found.append((address, "admin" if address.startswith("/users") else "operator"))
    return found


def test_every_form_refuses_signed_out_visitors_and_roles_too_low_and_changes_nothing(console):
    console.add_user("bob", "operator")
    fields = {**case_form("ORD-1"), "note": "n", "assignee": "bob", "role": "admin", "name": "eve",
              "password": "long-enough-pw"}
    routes = post_routes(console)
    assert len(routes) == 9
    clients = {role: console.client(role) for role in ("viewer", "operator")}
    signed_out = console.client(None)
    for address, needed in routes:
        response = signed_out.post(address, data=fields)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), address
        for role, client in clients.items():
            if role != needed:
                response = client.post(address, data=fields)
                assert response.status_code == 403 and f"needs the {needed} role" in response.text, address
            assert client.post(address, data=fields, csrf=False).status_code == 403, address
    assert actions_of(console) == []
    assert get_case(console.context.db, "R1", "ORD-1") is None
    assert console.context.users.get("bob").role == "operator" and console.context.users.get("eve") is None


@pytest.mark.parametrize("odd", ["-1", "99999999999999999999", "x%00y", "%27%22%3C", "2026-02-30", "%25"])
def test_odd_values_in_addresses_get_a_page_never_a_server_error(console, odd):
    viewer = console.client("viewer")
    for path in (f"/runs?page={odd}&status={odd}&flow={odd}&date_from={odd}", f"/runs/{odd}",
                 f"/runs/R1/screenshots/{odd}", f"/items?page={odd}&status={odd}&exception={odd}&ref={odd}&from={odd}",
                 f"/items/R1/{odd}", f"/items/export.xlsx?ref={odd}&to={odd}", f"/exceptions?state={odd}&page={odd}",
                 f"/exceptions/R1/{odd}", f"/exceptions/export.csv?state={odd}", f"/flows/{odd}",
                 f"/flows/tiny.yaml/diff?from={odd}&to={odd}", f"/kpis?date_from={odd}", f"/kpis/{odd}",
                 f"/kpis/export.xlsx?date_to={odd}", "/schedules"):
        response = viewer.get(path)
        assert response.status_code in (200, 404), path
        assert "Traceback" not in response.text, path


def test_a_lockout_holds_whatever_the_case_or_spacing_of_the_name(console):
    console.add_user("alice", "viewer")
    for _ in range(5):
        console.client(None).post("/login", data={"username": "alice", "password": "wrong-password"})
    for typed in ("alice", "ALICE", " Alice "):
        response = console.client(None).post("/login", data={"username": typed, "password": password_for("alice")})
        assert response.status_code == 429, typed


def test_signing_in_gives_a_fresh_form_token(console):
    console.add_user("alice", "viewer")
    client = console.client(None)
    before = client.csrf_token
    console.sign_in(client, "alice", password_for("alice"))
    assert client.csrf_token and client.csrf_token != before


def test_a_role_that_does_not_exist_is_refused_and_the_user_keeps_theirs(console):
    console.add_user("bob", "operator")
    admin = console.client("admin")
    admin.post("/users/bob/role", data={"role": "superuser"})
    assert console.context.users.get("bob").role == "operator"
    assert "unknown role &#39;superuser&#39;" in admin.get("/users").text
    with pytest.raises(UserError, match="unknown role"):
        console.context.users.set_role("bob", "root")
    assert actions_of(console) == []


class AdminRace(UserStore):
    """A user store whose last-admin check is answered before another admin's change lands (two admins
    clicking at the same moment); the other change is made through a second store on the same database."""

    def __init__(self, engine: Any, other: UserStore, other_change: Any) -> None:
        super().__init__(engine, CHEAP_HASHER)
        self.other, self.other_change = other, other_change

    def count(self, role: str | None = None) -> int:
        """The count as it was, then the other admin's change."""
        seen = super().count(role)
        self.other_change(self.other)
        return seen


@pytest.mark.parametrize("change", [lambda users, name: users.remove(name),
                                    lambda users, name: users.set_role(name, "viewer")], ids=["remove", "demote"])
def test_two_admins_taking_each_others_admin_role_at_once_leave_one_admin(tmp_path, change):
    engine = open_console_db(tmp_path / "console.db")
    other = UserStore(engine, CHEAP_HASHER)
    other.add("ana", "admin", "pw-ana-long-enough")
    other.add("bea", "admin", "pw-bea-long-enough")
    racing = AdminRace(engine, other, lambda users: change(users, "ana"))
    with pytest.raises(UserError, match="last admin"):
        change(racing, "bea")
    assert [user.name for user in other.list() if user.role == "admin"] == ["bea"]
    engine.dispose()


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_dates_at_the_ends_of_the_calendar_are_explained_not_a_server_error(console, value):
    viewer = console.client("viewer")
    for path in (f"/runs?date_from={value}&date_to={value}", f"/items?from={value}&to={value}",
                 f"/kpis?date_from={value}&date_to={value}", f"/kpis?date_to={value}", f"/kpis/{FLOW}?date_to={value}"):
        response = viewer.get(path)
        assert response.status_code == 200, path
        assert value in response.text and "between 1900 and 9998" in response.text, path
    for path in (f"/items/export.csv?to={value}", f"/kpis/export.csv?date_to={value}"):
        assert viewer.get(path).status_code == 200, path


def test_a_flow_address_with_a_nul_character_is_a_page_not_found(console):
    response = console.client("viewer").get("/flows/tiny%00.yaml")
    assert response.status_code == 404 and "There is no flow" in response.text


def test_a_link_in_the_flows_folder_to_a_file_elsewhere_is_neither_listed_nor_shown(console, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("name: Elsewhere\nsteps:\n  - log: not for the console\n", encoding="utf-8")
    os.symlink(outside, tmp_path / "flows" / "link.yaml")
    viewer = console.client("viewer")
    assert "Elsewhere" not in viewer.get("/flows").text
    outside.write_text("name: Elsewhere\nsteps:\n  - log: changed, still not for the console\n", encoding="utf-8")
    for path in ("/flows/link.yaml", "/flows/link.yaml/diff", "/flows/..%2Felsewhere.yaml"):
        response = viewer.get(path)
        assert response.status_code == 404 and "not for the console" not in response.text, path
    assert "Tiny" in viewer.get("/flows/tiny.yaml").text


def test_a_screenshot_that_links_to_another_file_of_the_run_is_not_served(console):
    store, runs_dir = console.context.store, console.context.runs_dir
    store.create_run(RunRecord(run_id="R2", flow_name=FLOW, flow_path="flows/o.yaml", flow_sha256="0" * 64))
    store.add_step(StepRecord(run_id="R2", seq=1, path="1", status="failed", screenshot="screenshots/step-1.png"))
    (runs_dir / "R2" / "screenshots").mkdir(parents=True)
    (runs_dir / "R2" / "audit.jsonl").write_text('{"secret-ish": "the run log"}\n', encoding="utf-8")
    os.symlink(runs_dir / "R2" / "audit.jsonl", runs_dir / "R2" / "screenshots" / "step-1.png")
    response = console.client("viewer").get("/runs/R2/screenshots/step-1.png")
    assert response.status_code == 404 and "the run log" not in response.text
    assert screenshot_file(store, runs_dir, "R2", "step-1.png") is None


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\r\n/evil.example", "/\\evil.example", "//evil.example",
                                    "http:evil.example", "https://evil.example/"])
def test_sign_in_never_sends_anyone_to_another_site_even_with_hidden_characters(console, target):
    console.add_user("alice", "viewer")
    client = console.client(None)
    response = client.post("/login", data={"username": "alice", "password": password_for("alice"), "next": target})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.get("/login", params={"next": target}).headers["location"] == "/"


def test_a_huge_user_name_at_sign_in_never_reaches_the_audit_log_whole(console):
    response = console.client(None).post("/login", data={"username": "m" * 100_000, "password": "whatever-123"})
    assert response.status_code == 401 and "The user name or password is not right." in response.text
    [failed] = [r for r in audit_records(console) if r["event"] == "console.login_failed"]
    assert len(failed["user"]) <= 65


def test_every_action_writes_exactly_one_audit_record_naming_who_did_it(console):
    fail_in_queue(console.context.queue, FLOW, "ORD-2", "out of stock for ORD-2")
    operator, admin = console.client("operator"), console.client("admin")
    operator.post("/exceptions/assign", data=case_form("ORD-1"))
    operator.post("/exceptions/resolve", data=case_form("ORD-1", note="called the customer"))
    operator.post("/exceptions/done", data=case_form("ORD-1"))
    operator.post("/exceptions/retry", data=case_form("ORD-2"))
    operator.post("/schedules/nightly/pause", data={"note": "portal down"})
    operator.post("/schedules/nightly/resume")
    admin.post("/users", data={"name": "carol", "role": "viewer", "password": "long-enough-pw"})
    admin.post("/users/carol/role", data={"role": "operator"})
    admin.post("/users/carol/remove")
    op, ad = operator.user.name, admin.user.name
    assert actions_of(console) == [
        (op, "exception.assign"), (op, "exception.resolve"), (op, "exception.done"), (op, "exception.retry"),
        (op, "schedule.pause"), (op, "schedule.resume"), (ad, "user.add"), (ad, "user.set_role"),
        (ad, "user.remove")]


def test_an_exception_action_that_cannot_be_audited_is_not_done(console):
    operator = console.client("operator")
    break_audit_log(console)
    for action, fields in (("assign", {}), ("resolve", {"note": "called"}), ("retry", {}), ("done", {})):
        response = operator.post(f"/exceptions/{action}", data=case_form("ORD-1", **fields))
        assert response.status_code == 503 and "nothing was changed" in response.text, action
        assert "Traceback" not in response.text
    case = get_case(console.context.db, "R1", "ORD-1")
    assert (case.state, case.assignee, case.note) == ("open", None, None)
    assert case_history(console.context.db, "R1", "ORD-1") == []


def test_a_user_change_that_cannot_be_audited_is_not_made(console):
    console.add_user("bob", "operator")
    admin = console.client("admin")
    break_audit_log(console)
    assert admin.post("/users", data={"name": "carol", "role": "viewer", "password": "long-enough-pw"}
                      ).status_code == 503
    assert admin.post("/users/bob/role", data={"role": "viewer"}).status_code == 503
    assert admin.post("/users/bob/remove").status_code == 503
    users = console.context.users
    assert users.get("carol") is None and users.get("bob").role == "operator"


def test_a_schedule_pause_or_resume_that_cannot_be_audited_is_undone(console):
    operator = console.client("operator")
    break_audit_log(console)
    assert operator.post("/schedules/nightly/pause", data={"note": "portal down"}).status_code == 503
    pauses = open_schedule_pauses(console.home / "queue.db")
    assert pauses.get("nightly") is None
    pauses.pause("nightly", "maria", note="maintenance")
    assert operator.post("/schedules/nightly/resume").status_code == 503
    kept = pauses.get("nightly")
    assert (kept.paused_by, kept.note) == ("maria", "maintenance")
    pauses.close()


class ResolvedMeanwhile:
    """The console's work queue, except that while a requeue is under way another operator resolves the same
    exception (the two clicks land at once); their resolve runs in its own thread on its own connection."""

    def __init__(self, queue: Any, db_path: Path) -> None:
        self.queue, self.db_path = queue, db_path
        self.other_outcome: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queue, name)

    def requeue_item(self, item_id: int, **kwargs: Any) -> Any:
        """Let the other operator resolve (waiting a moment for them), then requeue."""
        other = threading.Thread(target=self._resolve_as_other_operator)
        other.start()
        other.join(1.0)
        self.other_thread = other
        return self.queue.requeue_item(item_id, **kwargs)

    def _resolve_as_other_operator(self) -> None:
        db = open_console_db(self.db_path)
        try:
            actions.resolve(db, "R1", "ORD-2", by="bea", note="handled by phone")
            self.other_outcome.append("resolved")
        except actions.ActionRefused:
            self.other_outcome.append("refused")
        finally:
            db.dispose()


def test_two_operators_on_one_exception_at_once_never_leave_it_resolved_and_requeued(console):
    queue = console.context.queue
    item_id = fail_in_queue(queue, FLOW, "ORD-2", "out of stock for ORD-2")
    sync_cases(console.context.store, console.context.db)
    racing = ResolvedMeanwhile(queue, console.home / "console.db")
    try:
        outcome = actions.send_back(console.context.db, racing, "R1", "ORD-2", by="ana")
    except actions.ActionRefused:
        outcome = None
    racing.other_thread.join(30)
    case, item = get_case(console.context.db, "R1", "ORD-2"), queue.get_item(item_id)
    if outcome is not None:
        assert (case.state, item.state, racing.other_outcome) == ("retry", "new", ["refused"])
    else:
        assert (case.state, item.state, racing.other_outcome) == ("resolved", "failed", ["resolved"])
