"""Benchmark: every console page with 10,000 runs and 100,000 items in the store.

Fills a fresh home folder (see `console_data.py`), serves the console with uvicorn on 127.0.0.1, signs
in through the login form, and requests each page several times over real HTTP. Prints the median and
the slowest time per page, and the slowest page overall (goal: well under a second).

    python bench/console_bench.py [--runs 10000] [--items 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from console_data import fill  # noqa: E402

from bastidor.console.app import ConsoleSettings, create_app  # noqa: E402
from bastidor.console.context import open_context  # noqa: E402
from bastidor.demo_portal.server import bind_socket, build_server, url_for_socket  # noqa: E402

PASSWORD = "bench-console-password"


def pages(context) -> list[str]:
    """The pages to time, with ids taken from the filled store."""
    run = context.store.list_runs(limit=1)[0]
    item = context.store.list_items(run.run_id)[0]
    return ["/runs", "/runs?flow=Order+entry&status=failed", "/runs?page=150", f"/runs/{run.run_id}",
            "/items", "/items?status=failed", "/items?page=1500", f"/items/{run.run_id}/{item.item_ref}",
            "/exceptions", "/exceptions?page=100", "/flows", "/flows/order_entry.yaml", "/schedules", "/kpis",
            "/kpis/Order%20entry", "/items/export.csv?status=failed", "/exceptions/export.xlsx", "/kpis/export.xlsx"]


def signed_in(url: str) -> httpx.Client:
    """An HTTP client signed in as the bench's admin through the login form."""
    client = httpx.Client(base_url=url, timeout=60)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token,
                                         "next": "/"})
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code}")
    return client


def time_page(client: httpx.Client, path: str, repeat: int) -> tuple[float, list[float]]:
    """Seconds for the first request of `path` (it may build caches, e.g. exception cases), then for each
    of `repeat` more."""
    started = time.perf_counter()
    first = client.get(path)
    first_s = time.perf_counter() - started
    if first.status_code != 200:
        raise SystemExit(f"{path} answered {first.status_code}: {first.text[:300]}")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append(time.perf_counter() - started)
    return first_s, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bastidor-console-bench-"))
    fill(home, args.runs, args.items)
    context = open_context(home, REPO / "flows", REPO / "schedules.yaml")
    context.users.add("bench", "admin", PASSWORD)
    server = build_server(create_app(context, ConsoleSettings(secret_key="bench-" + "k" * 40)))
    sock = bind_socket("127.0.0.1", 0)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    client = signed_in(url_for_socket(sock))
    print(f"{args.runs} runs, {args.items} items; the first request of each page, then {args.repeat} more")
    slowest = {"page": 0.0, "export": 0.0}
    for path in pages(context):
        first, times = time_page(client, path, args.repeat)
        kind = "export" if "/export." in path else "page"
        slowest[kind] = max(slowest[kind], max(times))
        print(f"  {path:<44} first {first * 1000:7.1f} ms   median {statistics.median(times) * 1000:7.1f} ms"
              f"   max {max(times) * 1000:7.1f} ms")
    print(f"slowest request of any page (after its first): {slowest['page'] * 1000:.1f} ms; "
          f"of any export: {slowest['export'] * 1000:.1f} ms")
    server.should_exit = True


if __name__ == "__main__":
    main()
