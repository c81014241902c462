"""Shared fixtures: one real Chromium bot and one demo portal per test session, and a flow runner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from disk_support import small_disk  # noqa: F401  (a fixture: a small tmpfs that can be filled)
from pg_support import pg_url, postgres_report_line, private_postgres  # noqa: F401  (fixtures: a throwaway PostgreSQL database; a cluster of its own)

REPO = Path(__file__).resolve().parents[1]
PORTAL_USER = "analyst"
PORTAL_PASSWORD = "portal-pw-7c1e9a"


@pytest.fixture(scope="session", autouse=True)
def audit_signing_key(tmp_path_factory):
    """Audit logs are signed with a key made for this test session, never the user's own ~/.config key.

    Set in os.environ (monkeypatch is per test), so commands the tests start inherit it too."""
    saved = {name: os.environ.get(name) for name in ("BASTIDOR_AUDIT_KEY_FILE", "BASTIDOR_AUDIT_PUBLIC_KEY")}
    key_file = tmp_path_factory.mktemp("audit-key") / "audit-signing.key"
    os.environ["BASTIDOR_AUDIT_KEY_FILE"] = str(key_file)
    os.environ.pop("BASTIDOR_AUDIT_PUBLIC_KEY", None)
    yield key_file
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root folder."""
    return REPO


@pytest.fixture(scope="module")
def bot():
    """One real Chromium bot per test module (each run still gets a fresh context).

    Playwright's sync API allows one running instance per thread, so modules that start their
    own bots must not overlap with this one: module scope ends it before the next module starts."""
    from bastidor.bots.session import Bot, BotSettings

    with Bot(BotSettings()) as shared:
        yield shared


@pytest.fixture(scope="session")
def portal(tmp_path_factory):
    """The bundled demo portal, served on 127.0.0.1 for the whole session."""
    from bastidor.demo_portal import PortalSettings, start_portal

    db = tmp_path_factory.mktemp("portal") / "portal.db"
    with start_portal(PortalSettings(password=PORTAL_PASSWORD, db_path=db, seed=7)) as running:
        yield running


@pytest.fixture
def fresh_portal(portal):
    """The demo portal with its stock re-seeded, no orders, and the chaos switches off."""
    with httpx.Client(base_url=portal.url) as client:
        client.post("/api/reset").raise_for_status()
        client.post("/api/chaos", json={"delay_ms_max": 0, "failure_rate": 0.0}).raise_for_status()
    return portal


@dataclass
class FlowRun:
    """A finished run and the store it was recorded in."""

    result: Any
    store: Any

    @property
    def audit_text(self) -> str:
        """The run's audit log as text."""
        return Path(self.result.audit_path).read_text(encoding="utf-8")

    def items(self) -> dict[str, Any]:
        """The run's items by reference."""
        return {item.item_ref: item for item in self.store.list_items(self.result.run_id)}

    def steps(self) -> list[Any]:
        """The run's step records in order."""
        return self.store.list_steps(self.result.run_id)


@pytest.fixture
def run_flow_file(tmp_path, request):
    """Run a flow file for real and return a FlowRun; browser flows share the session's bot."""
    from bastidor.executor.run import RunOptions, run_flow
    from bastidor.flow.loader import load_flow
    from bastidor.secrets import default_secrets
    from bastidor.store import open_run_store

    store = open_run_store(tmp_path / "runs.db")

    def run(path: Path | str, *, inputs: dict | None = None, secrets: dict | None = None,
            base_url: str | None = None, **options) -> FlowRun:
        flow = load_flow(path)
        shared_bot = request.getfixturevalue("bot") if flow.needs_browser() else None
        values = {"PORTAL_USER": PORTAL_USER, "PORTAL_PASSWORD": PORTAL_PASSWORD, **(secrets or {})}
        result = run_flow(flow, RunOptions(home=tmp_path / "home", inputs=inputs or {}, base_url=base_url,
                                           bot=shared_bot, secrets=default_secrets(extra=values),
                                           sleep=lambda seconds: None, **options), store)
        return FlowRun(result, store)

    yield run
    store.close()


@pytest.fixture(autouse=True)
def _no_secret_env(monkeypatch):
    """Tests never pick up secrets from the developer's environment or secrets file."""
    for key in list(os.environ):
        if key.startswith("BASTIDOR_SECRET"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("BASTIDOR_SECRETS_FILE", os.devnull)


@pytest.fixture(autouse=True)
def _no_leftover_services():
    """A test that fails before stopping its `serve` processes does not leave them running."""
    yield
    from service_support import kill_leftover_services

    kill_leftover_services()


_FIGURES: list[str] = []
"""Figures tests report with `record_property("figures", text)`, printed at the end of the report."""


def pytest_runtest_logreport(report) -> None:
    """Collect the figures a test reported (they travel from the xdist workers with the report)."""
    if report.when == "call":
        _FIGURES.extend(str(value) for name, value in report.user_properties if name == "figures")


def pytest_terminal_summary(terminalreporter) -> None:
    """Say at the end of the report, even with -q, the figures tests reported, and whether the PostgreSQL tests
    ran here or why they were skipped."""
    for line in _FIGURES:
        terminalreporter.write_line(line)
    terminalreporter.write_line(postgres_report_line())
