"""Golden tests: each broken schedules file in tests/broken_schedules/ gets exactly the pinned messages.

Every `tests/broken_schedules/<mistake>.yaml` holds one mistake a person might make in
schedules.yaml (`several_mistakes.yaml` holds several). The lines reported for it
(`file:line:column: message`, paths relative to the repo root) are pinned in `<mistake>.expected`.
The flows they schedule live in `tests/broken_schedules/flows/`.

After an intended change to the messages, rewrite the golden files and review the diff:

    BASTIDOR_UPDATE_GOLDEN=1 python -m pytest tests/test_schedules_broken.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import load_flow
from bastidor.schedule import load_schedules

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "broken_schedules"
UPDATE = os.environ.get("BASTIDOR_UPDATE_GOLDEN") == "1"


def _problems(path: Path) -> list[str]:
    with pytest.raises(FlowValidationError) as caught:
        load_schedules(path.relative_to(REPO))
    return [str(problem) for problem in caught.value.diagnostics]


def _golden(name: str) -> Path:
    return CORPUS / f"{name}.expected"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    """Paths in messages are relative to the working folder: run every test from the repo root."""
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda path: path.stem)
def test_broken_schedules_file_gets_exactly_the_pinned_messages(path: Path):
    actual = _problems(path)
    if UPDATE:
        _golden(path.stem).write_text("".join(f"{line}\n" for line in actual), encoding="utf-8")
    assert actual == _golden(path.stem).read_text(encoding="utf-8").splitlines()


def test_the_corpus_is_big_enough_and_every_file_has_a_non_empty_golden_file():
    cases = {path.stem for path in CORPUS.glob("*.yaml")}
    assert len(cases) >= 10
    assert cases == {path.stem for path in CORPUS.glob("*.expected")}
    assert all(_golden(name).read_text(encoding="utf-8").strip() for name in cases)


def test_every_mistake_in_a_file_is_reported_not_only_the_first():
    path = CORPUS / "several_mistakes.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    marked = {number for number, text in enumerate(lines, 1) if "# mistake:" in text}
    reported = {int(line.split(":")[1]) for line in _problems(path)}
    assert len(marked) == 6
    assert reported == marked


def test_the_flows_the_corpus_schedules_are_valid_except_the_broken_one():
    for name in ("tiny", "needs_orders"):
        assert load_flow(CORPUS / "flows" / f"{name}.yaml").name
    with pytest.raises(FlowValidationError):
        load_flow(CORPUS / "flows" / "broken.yaml")


@pytest.mark.parametrize("name", ["cron_weekday_typo", "several_mistakes"])
def test_cli_prints_the_pinned_lines_and_exits_2(name: str):
    result = subprocess.run([sys.executable, "runner.py", "schedules", "--schedules",
                             f"tests/broken_schedules/{name}.yaml"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == _golden(name).read_text(encoding="utf-8").splitlines()
    assert f"problem(s) in tests/broken_schedules/{name}.yaml" in result.stderr
