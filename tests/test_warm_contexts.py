"""Warm browser contexts: a bot opens the next run's context while idle, the next run with the same settings
takes it (recorded as `warm: true`), and nothing of an earlier run is ever in it; under `serve`, each worker
does this between runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bastidor.bots.session import BotSettings
from local_site import QuietHandler, local_site
from service_support import REPO, queue_of, runs_of, serve, stop, trigger, wait_until

STATE_PAGE = b"""<!doctype html><title>state</title><p id="state"></p><script>
const cookie = document.cookie.includes("mark=run") ? "run" : "none";
const stored = localStorage.getItem("mark") || "none";
document.getElementById("state").textContent = "cookie=" + cookie + " stored=" + stored;
</script>"""
MARK_PAGE = b"""<!doctype html><title>marked</title><script>localStorage.setItem("mark", "run");</script>
<p>marked</p>"""


class _Site(QuietHandler):
    def do_GET(self) -> None:
        pages = {"/state": ("text/html", STATE_PAGE), "/mark": ("text/html", MARK_PAGE),
                 "/export": ("text/csv", b"order,qty\n42,3\n")}
        content_type, body = pages.get(self.path, ("text/plain", b"not found"))
        headers = {}
        if self.path == "/mark":
            headers["Set-Cookie"] = "mark=run; Path=/; Max-Age=3600"
        if self.path == "/export":
            headers["Content-Disposition"] = 'attachment; filename="orders.csv"'
        self.reply(body, content_type, 200 if self.path in pages else 404, headers)


@pytest.fixture(scope="module")
def site():
    """A local site: /mark sets a cookie and a local storage entry, /state shows whether they are there."""
    with local_site(_Site) as address:
        yield address


def state_of(run) -> str:
    run.page.goto("/state")
    return run.page.text_content("#state")


def test_the_next_run_takes_the_context_prepared_while_idle_and_finds_nothing_of_the_run_before(bot, site, tmp_path):
    settings = BotSettings(base_url=site, downloads_dir=tmp_path / "first")
    with bot.run_context(settings) as first:
        first.page.goto("/mark")
        assert state_of(first) == "cookie=run stored=run"
        assert not first.warm
    assert bot.prepare()
    with bot.run_context(BotSettings(base_url=site, downloads_dir=tmp_path / "second")) as second:
        assert second.warm
        assert state_of(second) == "cookie=none stored=none"
        assert second.context.cookies() == []
        second.page.set_content(f'<a href="{site}/export">Export</a>')
        with second.page.expect_download():
            second.page.click("text=Export")
    assert second.downloads == [tmp_path / "second" / "orders.csv"]  # the run's own downloads folder
    assert not (tmp_path / "first" / "orders.csv").exists()


def test_a_run_with_other_settings_gets_a_fresh_context_and_the_prepared_one_is_closed(bot, site):
    bot.prepare(BotSettings(base_url=site, locale="en-US"))
    with bot.run_context(BotSettings(base_url=site, locale="es-ES")) as run:
        assert not run.warm
        assert run.page.evaluate("navigator.language") == "es-ES"
        assert bot.browser.contexts == [run.context]
    with bot.run_context(BotSettings(base_url=site)) as run:
        assert not run.warm  # a prepared context is taken once, by the next run only


def test_a_prepared_context_is_not_handed_out_once_its_browser_is_gone(bot, site):
    assert bot.prepare(BotSettings(base_url=site))
    bot.browser.close()
    assert not bot.is_healthy()
    assert not bot.prepare(BotSettings(base_url=site))  # nothing to open it in
    bot.restart()
    with bot.run_context(BotSettings(base_url=site)) as run:
        assert not run.warm
        assert state_of(run) == "cookie=none stored=none"


FLOW = """name: Remember me
bot: {{base_url: "{url}"}}
steps:
  - open: /state
  - assert_text: {{css: "#state", equals: "cookie=none stored=none"}}
  - open: /mark
  - open: /state
  - assert_text: {{css: "#state", equals: "cookie=run stored=run"}}
"""


def browser_start(run) -> dict:
    records = [json.loads(line) for line in Path(run.audit_path).read_text(encoding="utf-8").splitlines()]
    [start] = [record for record in records if record.get("action") == "start_browser"]
    return start


def done_runs(folder: Path) -> int:
    with queue_of(folder) as queue:
        return sum(request.state == "done" for request in queue.list_runs(limit=100))


def test_under_serve_a_workers_second_run_starts_in_a_warm_context_with_nothing_of_the_first(tmp_path, site):
    (tmp_path / "remember.yaml").write_text(FLOW.format(url=site), encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text("schedules: []\n", encoding="utf-8")
    # The workers run `python -m bastidor.service.worker`: from this checkout, whichever copy is installed.
    paths = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    service = serve(tmp_path, "--workers", "1", env=dict(os.environ, PYTHONPATH=paths))
    try:
        for number in (1, 2):
            trigger(tmp_path, "remember.yaml")
            assert wait_until(lambda: done_runs(tmp_path) == number, timeout=120), open(service.log).read()
    finally:
        stop(service)
    second, first = runs_of(tmp_path)
    assert (first.status, second.status) == ("succeeded", "succeeded")  # run 2 saw no cookie nor storage of run 1
    assert browser_start(first)["warm"] is False
    started = browser_start(second)
    assert started["warm"] is True and started["step_name"] == "Open a fresh browser context"


@pytest.mark.parametrize("value, wanted", [(None, True), ("1", True), ("0", False), ("off", False), ("no", False)])
def test_warm_contexts_are_on_unless_the_environment_turns_them_off(monkeypatch, value, wanted):
    from bastidor.service.worker import WARM_SWITCH, warm_contexts_wanted

    if value is None:
        monkeypatch.delenv(WARM_SWITCH, raising=False)
    else:
        monkeypatch.setenv(WARM_SWITCH, value)
    assert warm_contexts_wanted() is wanted
