"""The JSON Schema that editors read (docs/flow.schema.json, named in each flow's modeline) is the one the
flow language really has: the file in the repository equals what `runner.py schema` prints."""

from __future__ import annotations

import json
from pathlib import Path

from bastidor.cli.main import main

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "docs" / "flow.schema.json"
REGENERATE = "python runner.py schema > docs/flow.schema.json"


def _differences(kept: dict, generated: dict) -> list[str]:
    """Which step types and definitions differ between the file and the generated schema, for the message."""
    kept_defs, new_defs = kept.get("$defs", {}), generated.get("$defs", {})
    notes = [f"only in runner.py schema: {name}" for name in sorted(set(new_defs) - set(kept_defs))]
    notes += [f"only in the file: {name}" for name in sorted(set(kept_defs) - set(new_defs))]
    notes += [f"changed: {name}" for name in sorted(set(kept_defs) & set(new_defs))
              if kept_defs[name] != new_defs[name]]
    rest = {key for key in set(kept) | set(generated) if key != "$defs" and kept.get(key) != generated.get(key)}
    notes += [f"changed top-level key: {key}" for key in sorted(rest)]
    return notes


def test_the_schema_file_editors_read_is_what_runner_py_schema_prints(capsys):
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    generated = json.loads(printed)
    kept = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    differences = _differences(kept, generated)
    assert kept == generated, (
        f"docs/flow.schema.json is out of date with the flow language ({len(differences)} difference(s): "
        f"{'; '.join(differences[:12])}). Regenerate it from the repository folder with:\n    {REGENERATE}")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == printed, (
        f"docs/flow.schema.json holds the same schema written differently; regenerate it with:\n    {REGENERATE}")
