"""What the browser remembers between items and steps (fresh contexts, `clear_storage`), the browser's start
as its own line, and evidence of one element or a whole page as PDF: run for real in Chromium against the
demo portal."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from bastidor.audit import verify_audit_log

REPO = Path(__file__).resolve().parents[1]
LOGIN = REPO / "flows" / "common" / "login.yaml"

ITEMS_FLOW = """
name: Who is signed in
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 3s, fresh_context: CONTEXT}
steps:
  - for_each_item: "{{ ['first', 'second'] }}"
    item_ref: "{{ row }}"
    steps:
      - if: "{{ row == 'first' }}"
        then:
          - call: LOGIN
        else:
          - assert_url: {equals: "about:blank"}
      - open: /orders
      - is_visible: {role: link, name: Log out, into: signed_in}
      - if: "{{ signed_in != (row == 'first') }}"
        then:
          - fail_item: "signed in: {{ signed_in }}"
"""


def write_flow(folder: Path, text: str, name: str = "flow.yaml") -> Path:
    path = folder / name
    path.write_text(text.replace("LOGIN", str(LOGIN)), encoding="utf-8")
    return path


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def characters_drawn(pdf: bytes) -> set[int]:
    """The characters a PDF's fonts can draw (from their ToUnicode maps): a text not painted has none."""
    drawn: set[int] = set()
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            text = zlib.decompress(stream.group(1))
        except zlib.error:
            continue
        if b"beginbfchar" in text or b"beginbfrange" in text:
            drawn |= {int(code, 16) for code in re.findall(rb"<([0-9A-Fa-f]{4})>", text)}
    return drawn


def test_each_item_starts_signed_out_with_a_fresh_context_per_item(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, ITEMS_FLOW.replace("CONTEXT", "per_item"))
    run = run_flow_file(flow, base_url=fresh_portal.url)
    items = run.items()
    assert {ref: (item.status, item.reason) for ref, item in items.items()} == {
        "first": ("successful", None), "second": ("successful", None)}
    fresh = [(step.path, step.name, step.item_ref) for step in run.steps() if step.action == "start_browser"]
    assert fresh == [("1[1].0", "Open a fresh browser context for this item", "first"),
                     ("1[2].0", "Open a fresh browser context for this item", "second")]


def test_without_fresh_contexts_the_second_item_is_still_signed_in(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, ITEMS_FLOW.replace("CONTEXT", "per_run"))
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.items()["second"].status == "failed"
    assert "about:blank" in run.items()["second"].reason


def test_clear_storage_signs_the_bot_out_and_only_keeps_what_it_is_told(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Forget
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 3s}
steps:
  - call: LOGIN
  - clear_storage: [local_storage, session_storage]
  - open: /orders
  - assert_url: {contains: /orders}
  - clear_storage:
  - open: /orders
  - assert_url: {contains: /login}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "succeeded", run.result.error
    assert [step.status for step in run.steps() if step.action == "assert_url"] == ["passed", "passed"]


def test_clear_storage_forgets_cookies_local_and_session_storage(bot, fresh_portal, tmp_path):
    from bastidor.bots.session import BotSettings

    with bot.run_context(BotSettings(base_url=fresh_portal.url)) as run:
        run.page.goto("/login")
        run.page.evaluate("() => { localStorage.setItem('cart', '3 widgets'); sessionStorage.setItem('step', '2');"
                          " document.cookie = 'theme=dark; path=/'; }")
        run.clear_storage()
        left = run.page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
        assert left == [0, 0, ""] and run.context.cookies() == []


def test_element_screenshots_and_pdfs_are_evidence_that_audit_verify_checks(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Evidence
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 3s}
steps:
  - call: LOGIN
  - open: /lab/icons
  - screenshot: {name: status-box, target: {test_id: notifications}}
  - screenshot: whole-page
  - save_pdf: {path: account.pdf, paper: Letter}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "succeeded", run.result.error
    folder = run.result.run_dir
    element = png_size(folder / "screenshots" / "status-box.png")
    page = png_size(folder / "screenshots" / "whole-page.png")
    assert element[0] < page[0] and element[1] < page[1]
    assert (folder / "account.pdf").read_bytes().startswith(b"%PDF")
    records = {step.path: step for step in run.steps()}
    assert records["3"].target == 'test id "notifications"'
    verified = verify_audit_log(run.result.audit_path)
    assert verified.ok and verified.evidence_files == 3, verified.problems
    (folder / "account.pdf").write_bytes((folder / "account.pdf").read_bytes() + b"%changed")
    tampered = verify_audit_log(run.result.audit_path)
    assert not tampered.ok and "account.pdf" in str(tampered.problems)


def test_a_pdf_leaves_fields_holding_a_secret_blank(fresh_portal, run_flow_file, tmp_path):
    canary = "\u017d\u0178\u00c6\u00d8"  # letters no page of the portal shows
    flow = write_flow(tmp_path, """
name: Secret print
secrets: [PORTAL_USER, PORTAL_PASSWORD, CANARY]
bot: {timeout: 3s}
steps:
  - call: LOGIN
  - open: /orders/new
  - fill: {label: Customer, value: "{{ secrets.CANARY }}"}
  - save_pdf: with-secret.pdf
  - fill: {label: Order reference, value: "\u017d\u0178\u00c6\u00d8-visible"}
  - save_pdf: without-secret.pdf
""")
    run = run_flow_file(flow, base_url=fresh_portal.url, secrets={"CANARY": canary})
    assert run.result.status == "succeeded", run.result.error
    hidden = characters_drawn((run.result.run_dir / "with-secret.pdf").read_bytes())
    shown = characters_drawn((run.result.run_dir / "without-secret.pdf").read_bytes())
    assert ord("C") in hidden and not {ord(letter) for letter in canary} & hidden
    assert {ord(letter) for letter in canary} <= shown, "a plain value in a field is printed"


def test_starting_the_browser_is_its_own_line_before_the_first_open(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Start
bot: {timeout: 3s}
steps:
  - set: {page: /login}
  - open: "{{ page }}"
  - open: /login
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    lines = [(step.path, step.name, step.status) for step in run.steps()]
    assert lines == [("1", "set", "passed"), ("0", "Open a fresh browser context", "passed"),
                     ("2", "open {{ page }}", "passed"), ("3", "open /login", "passed")]
    start = next(step for step in run.steps() if step.path == "0")
    assert start.duration_ms > 0 and start.action == "start_browser"
