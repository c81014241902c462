"""Golden tests: each broken flow in tests/broken_flows/ gets exactly the messages pinned for it.

Every `tests/broken_flows/<mistake>.yaml` holds one mistake an analyst might make. The lines
`validate` prints for it (`file:line:column: message`, paths relative to the repo root) are pinned
in `tests/broken_flows/<mistake>.expected`, so a reviewer can read them. Sub-flows that the
broken flows call live in `tests/broken_flows/parts/` and are not checked on their own.
Absolute paths in messages are written as `<repo>` (the checkout) and `<tmp>` (pytest's folder).

After an intended change to the messages, rewrite the golden files and review the diff:

    BASTIDOR_UPDATE_GOLDEN=1 python -m pytest tests/test_broken_flows.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bastidor.cli.commands_validate import validate_paths
from bastidor.flow.loader import load_flow
from bastidor.flow.yamlsource import MAX_FILE_BYTES

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "broken_flows"
UPDATE = os.environ.get("BASTIDOR_UPDATE_GOLDEN") == "1"
OVERSIZED = "oversized_file"

def _corpus() -> list:
    params = []
    for flow in sorted(CORPUS.glob("*.yaml")):
        params.append(pytest.param(flow, id=flow.stem))
    return params


def _shown(text: str, tmp_path: Path | None = None) -> str:
    """Output with machine-specific absolute paths replaced by placeholders."""
    if tmp_path is not None:
        text = text.replace(str(tmp_path), "<tmp>")
    return text.replace(str(REPO), "<repo>")


def _validate(path: Path, tmp_path: Path | None = None) -> list[str]:
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    _, problems = validate_paths([str(shown)])
    return [_shown(str(problem), tmp_path) for problem in problems]


def _golden(name: str) -> Path:
    return CORPUS / f"{name}.expected"


def _check_golden(name: str, actual: list[str]) -> None:
    golden = _golden(name)
    if UPDATE:
        golden.write_text("".join(f"{line}\n" for line in actual), encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8").splitlines()


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    """Display paths are relative to the working folder: run every test from the repo root."""
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("flow", _corpus())
def test_broken_flow_gets_exactly_the_pinned_messages(flow: Path):
    _check_golden(flow.stem, _validate(flow))


def test_oversized_flow_is_refused_before_it_is_parsed(tmp_path):
    line = "  - log: " + "x" * 70 + "\n"
    body = "name: Oversized\nsteps:\n" + line * (MAX_FILE_BYTES // len(line) + 1)
    flow = tmp_path / f"{OVERSIZED}.yaml"
    flow.write_text(body, encoding="utf-8")
    _check_golden(OVERSIZED, _validate(flow, tmp_path))


def test_every_broken_flow_has_a_golden_file_and_every_golden_file_a_flow():
    flows = {path.stem for path in CORPUS.glob("*.yaml")} | {OVERSIZED}
    goldens = {path.stem for path in CORPUS.glob("*.expected")}
    assert flows == goldens
    assert all(_golden(name).read_text(encoding="utf-8").strip() for name in goldens), "empty golden file"


def test_validate_reports_every_mistake_in_a_file_not_only_the_first():
    flow = CORPUS / "several_mistakes.yaml"
    marked = {number for number, text in enumerate(flow.read_text(encoding="utf-8").splitlines(), 1) if "# mistake:" in text}
    reported = {int(line.split(":")[1]) for line in _validate(flow)}
    assert len(marked) == 6
    assert reported == marked


def test_expression_mistakes_are_reported_even_when_the_header_has_one():
    lines = _validate(CORPUS / "header_and_step_mistakes.yaml")
    assert any(line.startswith("tests/broken_flows/header_and_step_mistakes.yaml:4:") for line in lines)
    assert any("unknown name 'totl'" in line for line in lines)


def test_a_sub_flow_used_by_the_corpus_is_valid_on_its_own():
    assert load_flow(CORPUS / "parts" / "needs_customer.yaml").name == "Open a customer"


def _cli(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "runner.py", "validate", *paths], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", ["misspelled_action", "several_mistakes", "subflow_cycle"])
def test_cli_validate_prints_the_pinned_lines_and_exits_2(name: str):
    result = _cli(f"tests/broken_flows/{name}.yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == _golden(name).read_text(encoding="utf-8").splitlines()
    assert "problem(s) in" in result.stderr


def test_cli_validate_reports_a_python_tag_without_a_traceback():
    result = _cli("tests/broken_flows/custom_yaml_tag.yaml")
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert result.stdout.splitlines() == _golden("custom_yaml_tag").read_text(encoding="utf-8").splitlines()


def test_cli_validate_accepts_the_example_flows():
    result = _cli("flows/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("flow file(s) valid")
