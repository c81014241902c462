"""The console in a real browser: a supervisor signs in, finds a failed run, and sees its failure screenshot
and masked parameters; a viewer's browser never shows operator-only controls or the secret."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace

import pytest

from console_support import make_console, password_for, serve_console

FAILING_FLOW = """
name: Portal sign-in check
version: 1
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {base_url: "http://127.0.0.1:8765", timeout: 1s}
steps:
  - open: /login
  - fill: {label: Username, value: "{{ secrets.PORTAL_USER }}"}
  - fill: {label: Password, value: "{{ secrets.PORTAL_PASSWORD }}"}
  - click: {role: button, name: Sign in}
  - assert_visible: {role: link, name: A link the portal does not have}
    name: Check the impossible link
"""


@pytest.fixture
def failed_browser_run(tmp_path, run_flow_file, fresh_portal):
    """A real browser run against the demo portal whose last step fails, leaving a screenshot."""
    (tmp_path / "check.yaml").write_text(FAILING_FLOW)
    return run_flow_file(tmp_path / "check.yaml", base_url=fresh_portal.url)


@pytest.fixture
def open_console(tmp_path, bot):
    """Starts a console on 127.0.0.1 (over `store` when given) and gives it with a fresh page of the shared bot."""
    with ExitStack() as stack:
        def start(store=None):
            console = make_console(tmp_path, home=tmp_path / "home", store=store)
            stack.callback(console.close)
            url = stack.enter_context(serve_console(console))
            settings = replace(bot.settings, base_url=url, timeout_ms=10_000)
            return console, stack.enter_context(bot.run_context(settings)).page

        yield start


@pytest.fixture
def console_page(open_console, failed_browser_run):
    """A console over the failed run's store, and a browser page."""
    return open_console(failed_browser_run.store)


def sign_in(page, name: str) -> None:
    """Fill in and send the console's sign-in form."""
    page.goto("/runs")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password_for(name))
    page.get_by_role("button", name="Sign in").click()


def test_supervisor_signs_in_opens_a_failed_run_and_sees_its_screenshot(console_page, failed_browser_run):
    from conftest import PORTAL_PASSWORD

    console, page = console_page
    console.add_user("sam", "viewer")
    sign_in(page, "sam")
    page.get_by_role("link", name="Runs", exact=True).wait_for()
    assert page.get_by_role("link", name="Runs", exact=True).get_attribute("aria-current") == "page"
    run_id = failed_browser_run.result.run_id
    page.get_by_role("link", name=run_id).click()
    page.get_by_text("Audit chain verified").wait_for()
    failed_step = page.locator("details[open]", has_text="Check the impossible link").last
    assert failed_step.get_by_text("failed", exact=True).first.is_visible()
    screenshot = failed_step.get_by_role("img", name="Screenshot of the page when step Check the impossible link")
    screenshot.scroll_into_view_if_needed()  # it loads lazily, when it comes into view
    assert screenshot.evaluate("img => img.decode().then(() => img.naturalWidth > 0)"), "the image is served"
    assert PORTAL_PASSWORD not in page.content()


def test_wrong_password_in_the_browser_shows_the_generic_message(open_console):
    console, page = open_console()
    console.add_user("sam", "viewer")
    page.goto("/login")
    page.get_by_label("User name").fill("sam")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert "The user name or password is not right" in page.get_by_role("alert").inner_text()
    page.goto("/runs")
    assert page.url.endswith("/login?next=%2Fruns")


def test_filters_and_sign_out_work_in_the_browser(console_page, failed_browser_run):
    console, page = console_page
    console.add_user("ops", "operator")
    sign_in(page, "ops")
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_role("button", name="Show runs").click()
    page.get_by_text("No run matches these filters").wait_for()
    assert "status=succeeded" in page.url
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Show runs").click()
    page.get_by_role("link", name=failed_browser_run.result.run_id).wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()
    page.goto("/runs")
    assert "/login" in page.url


BLOCKED_FLOW = """
name: Credit checks
steps:
  - for_each_item: "{{ ['C-1', 'C-2'] }}"
    as: order
    item_ref: "{{ order }}"
    steps:
      - if: "{{ order == 'C-2' }}"
        then:
          - fail_item: Customer is blocked
"""


@pytest.fixture
def exception_console(tmp_path, run_flow_file, open_console):
    """A console over a run in which item C-2 stopped with a business exception."""
    (tmp_path / "credit.yaml").write_text(BLOCKED_FLOW)
    return open_console(run_flow_file(tmp_path / "credit.yaml").store)


def console_actions(console) -> list[dict]:
    """The `console.action` records of the console audit log."""
    import json

    lines = (console.home / "audit" / "console.jsonl").read_text().splitlines()
    return [record for record in map(json.loads, lines) if record["event"] == "console.action"]


def test_operator_resolves_an_exception_in_the_browser_and_the_audit_log_records_it(exception_console):
    from bastidor.audit.verify import verify_audit_log

    console, page = exception_console
    console.add_user("olga", "operator")
    sign_in(page, "olga")
    page.get_by_role("link", name="Exceptions", exact=True).click()
    page.get_by_role("link", name="C-2").first.click()
    page.get_by_text("Customer is blocked").first.wait_for()
    page.get_by_role("button", name="Assign").click()
    page.get_by_text("olga", exact=True).first.wait_for()
    page.get_by_label("How was it resolved? (required)").fill("Called the customer; credit line restored")
    page.get_by_role("button", name="Resolve").click()
    page.locator(".badge", has_text="resolved").first.wait_for()
    actions = console_actions(console)
    assert [(a["user"], a["action"]) for a in actions] == [("olga", "exception.assign"), ("olga", "exception.resolve")]
    assert actions[-1]["item_ref"] == "C-2" and actions[-1]["note"] == "Called the customer; credit line restored"
    assert verify_audit_log(console.home / "audit" / "console.jsonl").ok


def test_viewer_sees_no_actions_and_a_posted_resolve_form_is_refused(exception_console):
    console, page = exception_console
    console.add_user("vera", "viewer")
    sign_in(page, "vera")
    page.get_by_role("link", name="Exceptions", exact=True).click()
    page.get_by_role("link", name="C-2").first.click()
    page.get_by_text("Customer is blocked").first.wait_for()
    assert page.get_by_role("button", name="Resolve").count() == 0
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    run_id = console.context.store.list_runs(limit=1)[0].run_id
    refused = page.request.post("/exceptions/resolve", form={"csrf_token": token, "run_id": run_id,
                                                            "item_ref": "C-2", "note": "viewer was here"})
    assert refused.status == 403
    page.reload()
    assert page.get_by_text("viewer was here").count() == 0
    assert console_actions(console) == []
