"""A bot's browser: fresh context per run, evidence on failure, dialogs, downloads and crash handling."""

from __future__ import annotations

import hashlib
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bastidor.bots.session import Bot, BotSettings, BrowserLaunchError, is_crash

PAGES = {
    "/": ("text/html", b"<!doctype html><title>home</title><h1>Orders</h1>"),
    "/login": ("text/html", b"<!doctype html><title>logged in</title>"),
    "/export": ("text/csv", b"order,qty\n42,3\n"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        content_type, body = PAGES.get(self.path, ("text/plain", b"not found"))
        self.send_response(200 if self.path in PAGES else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/login":
            self.send_header("Set-Cookie", "session=abc123; Path=/")
        if self.path == "/export":
            self.send_header("Content-Disposition", 'attachment; filename="orders.csv"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def bot(base_url):
    with Bot(BotSettings(base_url=base_url, timeout_ms=5_000)) as started:
        yield started


def test_each_run_starts_without_the_last_runs_cookies(bot):
    with bot.run_context() as first:
        first.page.goto("/login")
        assert [c["name"] for c in first.context.cookies()] == ["session"]
    with bot.run_context() as second:
        second.page.goto("/")
        assert second.context.cookies() == []
        assert second.page.title() == "home"


def test_run_context_is_closed_even_when_the_run_fails(bot):
    with pytest.raises(ValueError):
        with bot.run_context() as run:
            raise ValueError("business rule failed")
    assert run.page.is_closed()


def test_screenshot_writes_a_png_and_returns_its_sha256(bot, tmp_path):
    with bot.run_context() as run:
        run.page.goto("/")
        digest = run.screenshot(tmp_path / "shots" / "home.png")
    data = (tmp_path / "shots" / "home.png").read_bytes()
    assert data.startswith(b"\x89PNG")
    assert digest == hashlib.sha256(data).hexdigest()


def test_masked_screenshot_does_not_show_the_secret(bot, tmp_path):
    digests = {}
    with bot.run_context() as run:
        for secret in ("hunter2", "s3cr3t-canary"):
            run.page.set_content(f'<p>Card</p><input id="pin" value="{secret}">')
            masked = run.screenshot(tmp_path / f"masked-{secret}.png", mask=[run.page.locator("#pin")])
            plain = run.screenshot(tmp_path / f"plain-{secret}.png")
            digests[secret] = (masked, plain)
    assert digests["hunter2"][0] == digests["s3cr3t-canary"][0]
    assert digests["hunter2"][1] != digests["s3cr3t-canary"][1]


def test_trace_is_saved_when_tracing_is_on_and_holds_no_unscrubbable_page_images(bot, base_url, tmp_path):
    settings = BotSettings(base_url=base_url, trace_on_failure=True)
    with bot.run_context(settings) as run:
        run.page.goto("/")
        run.page.set_content('<input id="card">')
        run.page.fill("#card", "4111-canary")
        saved = run.save_trace(tmp_path / "trace.zip")
    entries = zipfile.ZipFile(saved).namelist()
    assert any(name.endswith(".trace") for name in entries)
    assert not any(name.endswith((".jpeg", ".jpg", ".png")) for name in entries)


def test_saving_a_trace_without_tracing_says_how_to_turn_it_on(bot):
    with bot.run_context() as run:
        with pytest.raises(RuntimeError, match="trace_on_failure"):
            run.save_trace("unused.zip")


def test_failure_evidence_holds_screenshot_and_trace(bot, base_url, tmp_path):
    with bot.run_context(BotSettings(base_url=base_url, trace_on_failure=True)) as run:
        run.page.goto("/")
        evidence = run.capture_failure(tmp_path / "item-7")
    assert evidence.screenshot is not None and evidence.screenshot.is_file()
    assert evidence.screenshot_sha256 == hashlib.sha256(evidence.screenshot.read_bytes()).hexdigest()
    assert evidence.trace is not None and zipfile.is_zipfile(evidence.trace)


def test_dialogs_are_dismissed_by_default_and_accepted_when_asked(bot):
    with bot.run_context() as run:
        run.page.set_content("<button onclick=\"document.title = String(confirm('Delete order 42?'))\">Delete</button>"
                             "<button onclick=\"document.title = prompt('Reason?')\">Reason</button>")
        run.page.click("text=Delete")
        assert (run.page.title(), run.last_dialog_message) == ("false", "Delete order 42?")
        run.set_dialog_policy("accept")
        run.page.click("text=Delete")
        assert run.page.title() == "true"
        run.set_dialog_policy("accept", prompt_text="duplicate")
        run.page.click("text=Reason")
        assert (run.page.title(), run.last_dialog_message) == ("duplicate", "Reason?")
        assert run.dialog_messages == ["Delete order 42?", "Delete order 42?", "Reason?"]


def test_download_is_saved_in_the_downloads_folder(bot, base_url, tmp_path):
    settings = BotSettings(base_url=base_url, downloads_dir=tmp_path / "downloads")
    with bot.run_context(settings) as run:
        run.page.set_content(f'<a href="{base_url}/export">Export</a>')
        for _ in range(2):
            with run.page.expect_download():
                run.page.click("text=Export")
    saved = tmp_path / "downloads" / "orders.csv"
    assert saved.read_text() == "order,qty\n42,3\n"
    assert run.downloads == [saved, tmp_path / "downloads" / "orders (1).csv"]


def test_timeout_is_a_failure_not_a_crash(bot):
    with bot.run_context() as run:
        run.page.set_content("<p>no button here</p>")
        with pytest.raises(PlaywrightTimeoutError) as error:
            run.page.click("text=Submit", timeout=200)
    assert not is_crash(error.value)
    assert not is_crash(AssertionError("total is 41, expected 42"))


def test_closed_browser_is_a_crash_and_the_bot_recovers_after_restart(bot):
    with pytest.raises(PlaywrightError) as error:
        with bot.run_context() as run:
            run.page.goto("/")
            bot.browser.close()
            run.page.goto("/login")
    assert is_crash(error.value)
    assert not bot.is_healthy()
    bot.restart()
    assert bot.is_healthy()
    with bot.run_context() as run:
        run.page.goto("/")
        assert run.page.title() == "home"


def test_stopping_a_bot_twice_is_safe(bot):
    second_bot = Bot()
    second_bot.stop()
    second_bot.stop()
    assert not second_bot.is_healthy()


def test_crash_wrapped_in_another_error_is_still_a_crash():
    try:
        try:
            raise PlaywrightError("Target page, context or browser has been closed")
        except PlaywrightError as cause:
            raise RuntimeError("step 3 failed") from cause
    except RuntimeError as wrapped:
        assert is_crash(wrapped)


def test_browser_that_will_not_start_gives_a_clear_error(tmp_path):
    broken = tmp_path / "broken-chrome"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    outcome = _in_own_thread(Bot(BotSettings(browser=str(broken))).start)
    assert isinstance(outcome, BrowserLaunchError)
    assert str(broken) in str(outcome) and "did not start" in str(outcome)


def test_second_bot_in_the_same_thread_is_told_to_use_its_own_thread(bot):
    with pytest.raises(BrowserLaunchError, match="its own thread or process"):
        Bot().start()


def _in_own_thread(action) -> BaseException | None:
    """Run `action` in a new thread (one sync Playwright per thread) and return what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            action()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return raised[0] if raised else None
