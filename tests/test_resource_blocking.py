"""`bot: {block: [...]}`: a flow's browser refuses images, fonts, media, stylesheets and URL patterns, the flow
still works, the refused requests never reach the site and are counted in the audit log; a misspelt word
is a validation error with a did-you-mean."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import load_flow
from service_support import wait_until

PAGE = b"""<!doctype html><html><head><title>Orders</title>
<link rel="stylesheet" href="/css/site.css">
<style>@font-face { font-family: Brand; src: url(/fonts/brand.woff2) format("woff2"); }
h1 { font-family: Brand, sans-serif; }</style>
<script src="/analytics/track.js"></script></head>
<body><h1>Orders</h1><img src="/img/logo.png" alt="logo"><p id="total">Total: 42</p></body></html>"""
FILES = {
    "/": ("text/html", PAGE),
    "/css/site.css": ("text/css", b"p { color: #333; }"),
    "/fonts/brand.woff2": ("font/woff2", b"not really a font"),
    "/analytics/track.js": ("text/javascript", b"window.tracked = true;"),
    "/img/logo.png": ("image/png", b"\x89PNG\r\n\x1a\n"),
}


class _Site(BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def do_GET(self) -> None:
        self.hits[self.path] += 1
        content_type, body = FILES.get(self.path, ("text/plain", b"not found"))
        self.send_response(200 if self.path in FILES else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site():
    """A local site whose page loads a stylesheet, a font, an image and an analytics script; `hits` counts
    the requests that reached it, by path."""
    _Site.hits = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    server.hits = _Site.hits
    yield server
    server.shutdown()
    server.server_close()


def write_flow(folder: Path, url: str, block: str | None) -> Path:
    bot = f'{{base_url: "{url}"' + (f", block: {block}" if block is not None else "") + "}"
    path = folder / "orders.yaml"
    path.write_text(f"name: Read the total\nbot: {bot}\nsteps:\n  - open: /\n"
                    "  - extract_text: {css: \"#total\", into: total}\n"
                    "  - assert: \"{{ total == 'Total: 42' }}\"\n", encoding="utf-8")
    return path


def finished_record(run) -> dict:
    lines = [json.loads(line) for line in run.audit_text.splitlines()]
    return next(record for record in lines if record["event"] == "run.finished")


def test_blocked_images_fonts_and_analytics_never_reach_the_site_and_the_flow_still_succeeds(
        tmp_path, site, run_flow_file):
    flow = write_flow(tmp_path, site.url, '[images, fonts, "**/analytics/**"]')
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert site.hits["/"] == 1 and site.hits["/css/site.css"] == 1  # what is not blocked still loads
    for refused in ("/img/logo.png", "/fonts/brand.woff2", "/analytics/track.js"):
        assert site.hits[refused] == 0, f"{refused} reached the site"
    assert finished_record(run)["blocked_requests"] >= 2  # the image and the script; the font when it was asked


def test_without_block_the_page_loads_everything_and_nothing_is_counted(tmp_path, site, run_flow_file):
    run = run_flow_file(write_flow(tmp_path, site.url, None))
    assert run.result.status == "succeeded", run.result.error
    wanted = ("/img/logo.png", "/fonts/brand.woff2", "/analytics/track.js", "/css/site.css")
    assert wait_until(lambda: all(site.hits[path] == 1 for path in wanted), timeout=10), dict(site.hits)
    assert "blocked_requests" not in finished_record(run)


def test_stylesheets_and_a_pattern_for_one_file_type_are_blocked(tmp_path, site, run_flow_file):
    run = run_flow_file(write_flow(tmp_path, site.url, '[stylesheets, "**/*.{png,jpg}"]'))
    assert run.result.status == "succeeded", run.result.error
    assert site.hits["/css/site.css"] == 0 and site.hits["/img/logo.png"] == 0
    assert site.hits["/analytics/track.js"] == 1
    assert finished_record(run)["blocked_requests"] == 2


def problems(path: Path) -> list[str]:
    with pytest.raises(FlowValidationError) as caught:
        load_flow(path)
    return [f"{d.line}:{d.column}: {d.message}" for d in caught.value.diagnostics]


def test_a_misspelt_word_is_reported_where_it_is_written_with_the_word_meant(tmp_path):
    flow = tmp_path / "f.yaml"
    flow.write_text("name: F\nbot:\n  block: [images, font]\nsteps:\n  - open: /\n", encoding="utf-8")
    assert problems(flow) == ["3:19: 'block': 'font' is not a kind of request to block, did you mean 'fonts'?"]


@pytest.mark.parametrize("entry, said", [
    ("css", "'css' is neither a kind of request to block (images, fonts, media, stylesheets) nor a URL pattern"),
    ('"*.png"', "'*.png' never matches: a pattern is matched against the whole address, and a single * stops "
                "at a /; write '**/*.png'"),
    ('"**/*.{png,jpg"', "'**/*.{png,jpg' opens a { and never closes it"),
])
def test_an_entry_that_is_no_word_and_no_usable_pattern_says_what_to_write(tmp_path, entry, said):
    flow = tmp_path / "f.yaml"
    flow.write_text(f"name: F\nbot: {{block: [{entry}]}}\nsteps:\n  - open: /\n", encoding="utf-8")
    [problem] = problems(flow)
    assert problem.startswith("2:15: 'block': " + said), problem
