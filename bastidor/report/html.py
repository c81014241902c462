"""The self-contained HTML report of one run: step tree, items and failure screenshots inline."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from bastidor.audit import format_result, verify_audit_log
from bastidor.report.tree import build_step_tree
from bastidor.store import RunStore

_env = Environment(loader=PackageLoader("bastidor.report", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def write_run_report(store: RunStore, run_id: str, output: Path) -> Path:
    """Write the report of `run_id` to `output` and return its path."""
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run '{run_id}'")
    steps = store.list_steps(run.run_id)
    run_dir = Path(run.audit_path).parent
    html = _env.get_template("report.html").render(
        run=run, items=store.list_items(run.run_id), tree=build_step_tree(steps),
        screenshots={s.screenshot: _embed(run_dir / s.screenshot) for s in steps if s.screenshot},
        verification=_verification(Path(run.audit_path), run.audit_last_hash), generated=dt.datetime.now(dt.timezone.utc),
        counts=_counts(steps))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    return output


def _embed(path: Path) -> str | None:
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _verification(path: Path, expected_last_hash: str | None) -> str:
    if not path.is_file():
        return "audit log missing"
    result = verify_audit_log(path, expected_last_hash=expected_last_hash)
    if result.ok:
        return f"verified: {result.records} records, hash chain intact, every record signed"
    return format_result(result).splitlines()[0].replace(f"{path}: ", "")


def _counts(steps) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    return counts
