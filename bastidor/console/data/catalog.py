"""The flow catalog: every flow under the flows folder, checked, with its last run and its last change.

Each flow file (`*.yaml` under the flows folder, except data folders) becomes a `CatalogEntry`: the
flow as a readable procedure when it is valid, or its `file:line:column` problems when it is not.
Viewing the catalog records each flow's current version (see `flow_versions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bastidor.console.data.flow_procedure import Procedure, procedure_of, relative_flow_path
from bastidor.console.data.flow_versions import FlowChange, FlowVersions, last_change
from bastidor.flow.diagnostics import Diagnostic, FlowValidationError
from bastidor.flow.loader import Flow, FlowLoader
from bastidor.flow.yamlsource import load_yaml
from bastidor.store import RunRecord, RunStore

FLOW_SUFFIXES = (".yaml", ".yml")
SKIPPED_FOLDERS = ("data",)
RUNS_PER_FLOW = 200


@dataclass
class CatalogEntry:
    """One flow file of the catalog: the flow when valid, its problems when not."""

    path: str
    file: Path
    name: str
    description: str
    version: str
    flow: Flow | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Whether the flow passed validation."""
        return self.flow is not None

    @property
    def summary(self) -> str:
        """The first line of the description."""
        return self.description.strip().splitlines()[0] if self.description.strip() else ""


@dataclass
class CatalogRow:
    """A line of the flow list: the entry, its newest run and its last change."""

    entry: CatalogEntry
    last_run: RunRecord | None
    change: FlowChange | None


def flow_files(flows_dir: Path) -> list[Path]:
    """The flow files under `flows_dir` (any depth), leaving out data folders and links that lead out of the
    folder (the console shows no file from elsewhere), sorted by path."""
    root = flows_dir.resolve()
    if not root.is_dir():
        return []
    found = [path for path in root.rglob("*") if path.suffix in FLOW_SUFFIXES and path.is_file()
             and not any(part in SKIPPED_FOLDERS for part in path.relative_to(root).parts[:-1])
             and path.resolve().is_relative_to(root)]
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def find_flow_file(flows_dir: Path, relative: str) -> Path | None:
    """The catalog's flow file at `relative` (as in its address), or None when it is not one of them."""
    try:
        wanted = (flows_dir.resolve() / relative).resolve()
    except (OSError, ValueError):  # a NUL character, a name too long
        return None
    return wanted if wanted in flow_files(flows_dir) else None


def load_entry(flows_dir: Path, file: Path, loader: FlowLoader | None = None) -> CatalogEntry:
    """Validate one flow file into a catalog entry; problems become entries' messages, never exceptions."""
    path = relative_flow_path(file, flows_dir) or file.name
    try:
        flow = (loader or FlowLoader()).load(file)
    except FlowValidationError as error:
        return _invalid_entry(flows_dir, file, path, [shown_problem(d, flows_dir) for d in error.diagnostics])
    except Exception as error:  # a loader bug must not take the whole catalog down
        problem = (f"{path}: the flow could not be checked ({type(error).__name__}); run "
                   f"`python runner.py validate {path}` for details")
        return _invalid_entry(flows_dir, file, path, [problem])
    header = flow.header
    return CatalogEntry(path, file, header.name, header.description or "", str(header.version), flow)


def shown_problem(diagnostic: Diagnostic, flows_dir: Path) -> str:
    """`file:line:column: message`, with the file relative to the flows folder's parent when inside it."""
    file = Path(diagnostic.file)
    if file.is_absolute():
        try:
            file = file.relative_to(flows_dir.resolve().parent)
        except ValueError:
            pass
    return str(Diagnostic(file.as_posix(), diagnostic.line, diagnostic.column, diagnostic.message))


def _invalid_entry(flows_dir: Path, file: Path, path: str, problems: list[str]) -> CatalogEntry:
    """An entry for a flow that failed validation, named from its `name:` when the YAML can be read."""
    try:
        data = load_yaml(file).data
    except (FlowValidationError, OSError):
        data = None
    data = data if isinstance(data, dict) else {}
    name = data.get("name") if isinstance(data.get("name"), str) and data.get("name") else file.stem
    description = data.get("description") if isinstance(data.get("description"), str) else ""
    return CatalogEntry(path, file, name, description, str(data.get("version", 1)), None, problems)


def catalog_rows(flows_dir: Path, store: RunStore, versions: FlowVersions) -> list[CatalogRow]:
    """Every flow of the catalog with its newest run and last change, recording new versions on the way."""
    loader = FlowLoader()
    return [catalog_row(load_entry(flows_dir, file, loader), store, versions)
            for file in flow_files(flows_dir)]


def catalog_row(entry: CatalogEntry, store: RunStore, versions: FlowVersions) -> CatalogRow:
    """The entry with its newest run and last change; records its current version and that version's first run."""
    runs = store.list_runs(limit=RUNS_PER_FLOW, flow=entry.name)
    own = [run for run in runs if _same_file(run, entry)]
    versions.observe(entry.path, entry.file, own)
    newest = own[0] if own else (runs[0] if runs else None)
    return CatalogRow(entry, newest, last_change(versions.history(entry.path)))


def _same_file(run: RunRecord, entry: CatalogEntry) -> bool:
    try:
        return Path(run.flow_path).resolve() == entry.file.resolve()
    except OSError:
        return False


def procedure_for(entry: CatalogEntry, flows_dir: Path) -> Procedure | None:
    """The readable procedure of a valid entry, None for an invalid one."""
    return procedure_of(entry.flow, flows_dir) if entry.flow is not None else None
