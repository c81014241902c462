"""A planted secret must appear nowhere: audit log, run store, report, console, trace, error texts or
screenshots; and each failed attempt keeps its own screenshot."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from bastidor.actions.browser_input import FillParams, fill
from bastidor.audit import SecretMasker
from bastidor.bots.session import BotSettings
from bastidor.executor.browser import BrowserHolder
from bastidor.executor.evidence import SECRET_TEXT_ATTRIBUTE, free_path, mark_secret_text, screenshot_name
from bastidor.expr.taint import taint
from bastidor.flow.model import BotSpec
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
  - set: {{p: "{{{{ secrets.CANARY }}}}"}}
  - set: {{mixed: "{{{{ replace(p, 'cnry', 'CaNrY') }}}}"}}
  - fill: {{label: Role, value: "{{{{ mixed }}}}"}}
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


def derived(canary: str) -> list[str]:
    """The canary and what the flow computes from it, as each would be written in clear."""
    return [canary, canary.upper(), canary.replace("cnry", "CaNrY")]


def test_canary_run_fails_where_expected(canary_run):
    canary, outputs, home = canary_run
    assert "FAILED Canary" in outputs[0]
    assert "expected the page address to contain '***'" in outputs[0]


def test_canary_secret_is_in_no_console_output(canary_run):
    canary, outputs, _ = canary_run
    for output in outputs:
        assert not any(text in output for text in derived(canary))


def test_canary_secret_is_in_no_file_the_run_left(canary_run):
    canary, _, home = canary_run
    files = [p for p in home.rglob("*") if p.is_file() and p.suffix != ".png"]
    assert any(p.name == "audit.jsonl" for p in files) and any(p.name == "report.html" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(text.encode() in data for text in derived(canary)), path


def test_canary_secret_is_in_no_trace_entry(canary_run):
    canary, _, home = canary_run
    traces = list(home.rglob("trace.zip"))
    assert traces, "the failed run should keep a trace"
    with zipfile.ZipFile(traces[0]) as archive:
        for name in archive.namelist():
            assert not any(text.encode() in archive.read(name) for text in derived(canary)), name


MASK_COLOR = 0xFF00FF
COLORS_IN_BOX = """async ([source, box]) => {
  const image = new Image();
  image.src = source;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const data = context.getImageData(box.x, box.y, box.width, box.height).data;
  const colors = new Set();
  for (let i = 0; i < data.length; i += 4) colors.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return [...colors];
}"""


def colors_in(bot, png: bytes, box: dict) -> set[int]:
    """The colours of the screenshot's pixels inside `box` (one pixel in from its edges), read by the browser."""
    inner = {"x": int(box["x"]) + 1, "y": int(box["y"]) + 1, "width": int(box["width"]) - 2,
             "height": int(box["height"]) - 2}
    with bot.run_context() as run:
        source = "data:image/png;base64," + base64.b64encode(png).decode()
        return set(run.page.evaluate(COLORS_IN_BOX, [source, inner]))


def sign_in(page) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(PORTAL_USER)
    page.get_by_label("Password").fill(PORTAL_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Log out").wait_for()


def signed_in_as_box(bot, portal) -> dict:
    """Where the portal prints "Signed in as <user>" on its home page, in a 1280x800 window."""
    with bot.run_context(BotSettings(base_url=portal.url)) as run:
        sign_in(run.page)
        return run.page.locator(".who").bounding_box()


def test_failure_screenshot_covers_page_text_that_shows_a_secret_with_a_solid_box(bot, portal, tmp_path):
    holder = BrowserHolder(BotSpec(base_url=portal.url), tmp_path, bot=bot)
    try:
        page = holder.current().page
        sign_in(page)
        box = page.locator(".who").bounding_box()
        shot = holder.failure_screenshot("3", [], secret_texts=[PORTAL_USER, "unrelated-secret"])
        holder.current().screenshot(tmp_path / "plain.png")
    finally:
        holder.close(failed=False, masker=SecretMasker())
    assert shot is not None and shot[0] == "screenshots/step-3_a1.png"
    assert colors_in(bot, (tmp_path / shot[0]).read_bytes(), box) == {MASK_COLOR}
    assert len(colors_in(bot, (tmp_path / "plain.png").read_bytes(), box)) > 1


def test_a_field_filled_with_a_value_computed_from_a_secret_is_masked_in_screenshots_once(bot):
    with bot.run_context() as run:
        run.page.set_content('<input id="code"><input id="note">')
        ctx = SimpleNamespace(page=run.page, timeout_ms=2_000, state=SimpleNamespace(
            secret_targets=[], flow=SimpleNamespace(header=SimpleNamespace(bot=None))))
        fill(ctx, FillParams.model_construct(css="#code", value=taint("cnry-lowered")))
        fill(ctx, FillParams.model_construct(css="#code", value=taint(123456)))
        fill(ctx, FillParams.model_construct(css="#note", value="plain"))
        assert [target.input_value() for target in ctx.state.secret_targets] == ["123456"]


def test_page_text_showing_a_secret_is_marked_wherever_and_however_it_is_written(bot):
    page_html = ('<p id="plain">no secret here</p><p id="split">Code: <b>HUN</b>ter2 ok</p>'
                 '<div id="outer"><span id="inner">code hunter2</span></div>'
                 '<select id="choice"><option>first</option><option selected>hunter2</option></select>')
    with bot.run_context() as run:
        run.page.set_content(page_html)
        assert mark_secret_text(run.page, ["absent-value", "  "]) is None
        shown = mark_secret_text(run.page, ["hunter2", "unrelated"])
        marked = run.page.eval_on_selector_all(f"[{SECRET_TEXT_ATTRIBUTE}]", "found => found.map(e => e.id)")
    assert shown is not None and sorted(marked) == ["choice", "inner", "split"]


@pytest.mark.parametrize(("path", "item_ref", "attempt", "expected"), [
    ("3", None, 1, "step-3_a1.png"),
    ("2[5].3", "ORD-7", 2, "step-2_5-3_ORD-7_a2.png"),
    ("2[1].1>.4", 'ORD:7/<x>|"?*\\', 1, "step-2_1-1-4_ORD_7_x_a1.png"),
    ("4", "***", 3, "step-4_a3.png"),
])
def test_screenshot_names_say_step_item_and_attempt_and_are_valid_on_windows(path, item_ref, attempt, expected):
    assert screenshot_name(path, item_ref, attempt) == expected


def test_a_screenshot_name_already_taken_gets_a_number_instead_of_replacing_the_file(tmp_path):
    (tmp_path / "step-3_a1.png").write_bytes(b"first")
    (tmp_path / "step-3_a1-2.png").write_bytes(b"second")
    assert free_path(tmp_path, "step-3_a1.png") == tmp_path / "step-3_a1-3.png"
    assert free_path(tmp_path, "step-4_a1.png") == tmp_path / "step-4_a1.png"


ATTEMPTS_FLOW = """
name: Attempts
secrets: [PORTAL_USER, PORTAL_PASSWORD]
steps:
  - call: {login}
  - for_each_item: "{{{{ ['ORD:7', 'ORD/8'] }}}}"
    as: ref
    item_ref: "{{{{ ref }}}}"
    steps:
      - call: missing.yaml
"""
MISSING_FLOW = """
name: Look for a button that is not there
steps:
  - assert_visible: {role: button, name: Nowhere to be found, timeout: 300ms}
    retry: {attempts: 3, wait: 10ms}
"""
WINDOWS_SAFE = re.compile(r"^screenshots/[A-Za-z0-9_-]+\.png$")


def test_each_failed_attempt_keeps_its_own_masked_screenshot_with_a_name_valid_on_windows(
        tmp_path, run_flow_file, portal, bot):
    (tmp_path / "attempts.yaml").write_text(ATTEMPTS_FLOW.format(login=REPO / "flows" / "common" / "login.yaml"))
    (tmp_path / "missing.yaml").write_text(MISSING_FLOW)
    run = run_flow_file(tmp_path / "attempts.yaml", base_url=portal.url)
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    failed = [record for record in records if record.get("outcome") == "failed" and record["action"] != "call"]
    names = [record["screenshot"] for record in failed]
    assert [(record["item_ref"], record["attempt"]) for record in failed] == [
        ("ORD:7", 1), ("ORD:7", 2), ("ORD:7", 3), ("ORD/8", 1), ("ORD/8", 2), ("ORD/8", 3)]
    assert len(set(names)) == 6 and all(WINDOWS_SAFE.match(name) for name in names), names
    assert names[1] == "screenshots/step-2_1-1-1_ORD_7_a2.png"  # step 2, item 1, step 1, its sub-flow's step 1
    for record in failed:
        data = (run.result.run_dir / record["screenshot"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["screenshot_sha256"]
    stored = {step.screenshot for step in run.steps() if step.screenshot}
    assert stored == set(names)
    box = signed_in_as_box(bot, portal)
    assert colors_in(bot, (run.result.run_dir / names[0]).read_bytes(), box) == {MASK_COLOR}
