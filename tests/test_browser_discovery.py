"""Finding a browser for the bots, and the switches it is launched with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bastidor.bots import discovery
from bastidor.bots.discovery import BrowserChoice, BrowserNotFoundError, find_browser, launch_args


def _fake_browser(folder: Path, name: str = "chromium") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_bundled(monkeypatch):
    """Pretend Playwright's own browser is not installed."""
    monkeypatch.setattr(discovery, "bundled_chromium", lambda playwright=None: None)
    monkeypatch.delenv("BASTIDOR_BROWSER", raising=False)


def test_browser_setting_wins_over_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("BASTIDOR_BROWSER", str(_fake_browser(tmp_path / "env")))
    chosen = _fake_browser(tmp_path / "setting")
    choice = find_browser(str(chosen))
    assert (choice.executable_path, choice.source) == (str(chosen), "setting")


def test_browser_setting_can_be_a_command_name_on_path(tmp_path, monkeypatch, no_bundled):
    browser = _fake_browser(tmp_path, "my-chrome")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_browser("my-chrome").executable_path == str(browser)


def test_environment_variable_is_used_when_there_is_no_setting(tmp_path, monkeypatch):
    browser = _fake_browser(tmp_path)
    monkeypatch.setenv("BASTIDOR_BROWSER", str(browser))
    choice = find_browser()
    assert (choice.executable_path, choice.source) == (str(browser), "env")


def test_setting_that_names_a_missing_file_says_exactly_that(tmp_path):
    missing = tmp_path / "nowhere" / "chrome"
    with pytest.raises(BrowserNotFoundError) as error:
        find_browser(str(missing))
    assert str(missing) in str(error.value)
    assert "does not exist" in str(error.value)


def test_environment_variable_naming_a_missing_command_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("BASTIDOR_BROWSER", "no-such-browser")
    with pytest.raises(BrowserNotFoundError, match="BASTIDOR_BROWSER names the browser `no-such-browser`"):
        find_browser()


def test_bundled_browser_comes_before_a_system_browser(tmp_path, monkeypatch):
    monkeypatch.delenv("BASTIDOR_BROWSER", raising=False)
    monkeypatch.setattr(discovery, "bundled_chromium", lambda playwright=None: "/ms-playwright/chrome")
    _fake_browser(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    choice = find_browser()
    assert (choice.executable_path, choice.source) == (None, "bundled")


def test_system_chromium_on_path_is_found_without_a_bundled_browser(tmp_path, monkeypatch, no_bundled):
    browser = _fake_browser(tmp_path, "google-chrome")
    monkeypatch.setenv("PATH", str(tmp_path))
    choice = find_browser()
    assert (choice.executable_path, choice.source) == (str(browser), "system")


def test_a_headless_bot_takes_chromiums_headless_shell_when_it_is_installed(tmp_path, monkeypatch, no_bundled):
    _fake_browser(tmp_path, "chromium")
    shell = _fake_browser(tmp_path, "chromium-headless-shell")
    monkeypatch.setenv("PATH", str(tmp_path))
    choice = find_browser()
    assert (choice.executable_path, choice.source) == (str(shell), "system")
    assert "headless shell" in choice.description


def test_a_bot_with_a_window_takes_the_full_browser_even_with_the_headless_shell_installed(
        tmp_path, monkeypatch, no_bundled):
    full = _fake_browser(tmp_path, "chromium")
    _fake_browser(tmp_path, "chromium-headless-shell")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_browser(headless=False).executable_path == str(full)


def test_browser_at_a_usual_install_location_is_found_when_not_on_path(tmp_path, monkeypatch, no_bundled):
    installed = _fake_browser(tmp_path / "opt" / "chrome", "chrome")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(discovery, "install_locations", lambda: [tmp_path / "missing", installed])
    assert find_browser().executable_path == str(installed)


def test_no_browser_anywhere_gives_one_paragraph_that_says_how_to_fix_it(tmp_path, monkeypatch, no_bundled):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(discovery, "install_locations", lambda: [tmp_path / "chromium"])
    with pytest.raises(BrowserNotFoundError) as error:
        find_browser()
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("No browser found")
    for advice in ("python -m playwright install chromium", "apt-get install chromium", "BASTIDOR_BROWSER",
                   "`browser` setting", "google-chrome-stable", str(tmp_path / "chromium")):
        assert advice in message


def test_this_machine_finds_a_real_browser():
    choice = find_browser()
    assert choice.source in ("bundled", "system", "env")
    assert choice.executable_path is None or Path(choice.executable_path).is_file()


def test_running_as_root_adds_no_sandbox(monkeypatch):
    system = BrowserChoice("/usr/bin/chromium", "system", "test")
    monkeypatch.setattr(os, "geteuid", lambda: 0, raising=False)
    assert "--no-sandbox" in launch_args(system)
    monkeypatch.setattr(os, "geteuid", lambda: 1000, raising=False)
    assert "--no-sandbox" not in launch_args(system)


def test_system_browser_gets_switches_that_stop_background_network_calls(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000, raising=False)
    system_args = launch_args(BrowserChoice("/usr/bin/chromium", "system", "test"))
    assert {"--disable-background-networking", "--disable-component-update", "--no-first-run"} <= set(system_args)
    assert launch_args(BrowserChoice(None, "bundled", "test")) == []
