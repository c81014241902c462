"""The self-contained HTML report of one run: what went wrong first (message and screenshot), the items
with their exception kinds, the values steps read, logged and compared, and the step tree with attempts.
Screenshots are inlined, so the file can be mailed or archived alone."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from bastidor.audit import format_result
from bastidor.audit.shared_copy import SharedDatabaseUnavailable, shared_evidence, verify_run_audit
from bastidor.database.places import database_url
from bastidor.report.overview import RunOverview, load_run_overview
from bastidor.store import RunStore

_env = Environment(loader=PackageLoader("bastidor.report", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

MAX_FAILURES_ON_TOP = 10
"""Failures shown with their screenshots at the top of the report; the items table lists every one."""


def write_run_report(store: RunStore, run_id: str, output: Path) -> Path:
    """Write the report of `run_id` to `output` and return its path."""
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run '{run_id}'")
    overview = load_run_overview(store, run)
    run_dir = Path(run.audit_path).parent
    on_top = overview.failures[:MAX_FAILURES_ON_TOP]
    html = _env.get_template("report.html").render(
        run=run, overview=overview, items=overview.items, tree=overview.tree, failures=on_top,
        more_failures=len(overview.failures) - len(on_top), values=overview.recorded_values(),
        screenshots=_screenshots(overview, run_dir, run.run_id),
        shown_on_top={failure.step.screenshot: index for index, failure in enumerate(on_top, 1)
                      if failure.step is not None and failure.step.screenshot},
        verification=_verification(run),
        generated=dt.datetime.now(dt.timezone.utc))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    return output


def _screenshots(overview: RunOverview, run_dir: Path, run_id: str) -> dict[str, str | None]:
    """Every failure screenshot of the run (of every attempt), inlined as a data URI: from the run folder, or
    from the shared database when the run's files are on another machine."""
    names = {node.step.screenshot for node in _every_node(overview.tree) if node.step is not None
             and node.step.screenshot}
    return {name: _embed(run_dir / name, run_id, name) for name in names}


def _every_node(nodes: list[Any]):
    for node in nodes:
        yield node
        yield from _every_node(node.children)


def _embed(path: Path, run_id: str, name: str) -> str | None:
    data = path.read_bytes() if path.is_file() else shared_evidence(database_url(), run_id, name)
    if data is None:
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _verification(run: Any) -> str:
    try:
        audit = verify_run_audit(run.run_id, run.audit_path, database_url(), run.audit_last_hash)
    except SharedDatabaseUnavailable as error:
        return f"audit log not checked: {error}"
    if audit is None:
        return "audit log missing"
    result = audit.result
    if result.ok:
        return f"verified: {result.records} records, hash chain intact, every record signed"
    return format_result(result).splitlines()[0].replace(f"{result.label}: ", "")

