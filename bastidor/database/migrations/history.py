"""Each component's revisions, read from its revision files without importing Alembic.

Opening a store checks its component's version against the head revision. Importing Alembic for that
would slow down every command that opens a store, so the revision files are read here as plain Python
source: the `revision` and `down_revision` each file assigns. A component's history is one line from its
base revision to its head; `tests/test_migrations.py` checks this reading agrees with Alembic's own.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent
VERSIONS = MIGRATIONS / "versions"


class MigrationHistoryError(RuntimeError):
    """A component's revision files do not form one line from its base to its head."""


def versions_folder(component: str) -> Path:
    """The folder of `component`'s revision files."""
    return VERSIONS / component


@lru_cache(maxsize=None)
def revisions(component: str) -> tuple[str, ...]:
    """`component`'s revision ids from its base to its head (empty when it has none yet)."""
    parents = dict(_revision_and_parent(path) for path in sorted(versions_folder(component).glob("*.py")))
    children: dict[str | None, list[str]] = {}
    for revision, parent in parents.items():
        children.setdefault(parent, []).append(revision)
    forks = {parent: sorted(names) for parent, names in children.items() if len(names) > 1}
    if forks:
        parent, names = next(iter(forks.items()))
        raise MigrationHistoryError(f"the {component} revisions {', '.join(names)} all follow {parent or 'nothing'}: "
                                    "give each its own down_revision so they form one line")
    line = _follow(children, None)
    if len(line) != len(parents):
        stray = sorted(set(parents) - set(line))
        raise MigrationHistoryError(f"the {component} revisions {', '.join(stray)} do not follow from its base "
                                    "revision: check their down_revision")
    return tuple(line)


def head(component: str) -> str | None:
    """`component`'s newest revision, None when it has none."""
    line = revisions(component)
    return line[-1] if line else None


def _follow(children: dict[str | None, list[str]], start: str | None) -> list[str]:
    line: list[str] = []
    current = start
    while children.get(current):
        current = children[current][0]
        line.append(current)
    return line


def _revision_and_parent(path: Path) -> tuple[str, str | None]:
    values: dict[str, object] = {}
    for statement in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        target = statement.targets[0] if isinstance(statement, ast.Assign) else getattr(statement, "target", None)
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and statement.value:
            values[target.id] = ast.literal_eval(statement.value)
    revision, parent = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str) or not (parent is None or isinstance(parent, str)):
        raise MigrationHistoryError(f"{path} does not assign `revision` and `down_revision` as plain strings")
    return revision, parent
