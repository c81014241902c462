"""A console on a shared database that cannot be reached for a moment (PostgreSQL restarting, the network cut)
says so with a 503 "Database unavailable" page, never a bare 500, and works again once the database is back."""

from __future__ import annotations

from console_support import make_console
from tcp_proxy import proxy  # noqa: F401  (a fixture: a TCP proxy in front of this test's PostgreSQL)


def test_the_console_says_the_database_is_unavailable_and_recovers_when_it_is_back(tmp_path, proxy, pg_url,
                                                                                  monkeypatch):
    monkeypatch.setenv("BASTIDOR_DATABASE_URL", proxy.url_for(pg_url))
    monkeypatch.setenv("BASTIDOR_DATABASE_RETRY_S", "0.5")  # the stores give up quickly in this test
    console = make_console(tmp_path)
    try:
        client = console.client("viewer")
        assert client.get("/runs").status_code == 200
        proxy.cut(refuse=True)
        cut_off = client.get("/runs")
        assert cut_off.status_code == 503, cut_off.text[:500]
        assert "Database unavailable" in cut_off.text and "Try again in a moment" in cut_off.text
        assert "Traceback" not in cut_off.text
        proxy.restore()
        assert client.get("/runs").status_code == 200, "the console works again once the database is back"
    finally:
        console.close()
