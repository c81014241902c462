"""The file steps: `list_files`, `move_file`, `copy_file`, `zip` and `unzip`, confined to declared folders.

A file is always written as a place in a folder: `{folder: incoming, path: "2026/orders.xlsx"}`, where the
folder is declared under `folders:` in the flow's header (or is `run`, the run's own folder) and the path is
relative to it. A record from `list_files` is such a place too, so `from: "{{ file }}"` works. Every path is
resolved (symbolic links and `..` included) and refused unless it stays inside its folder. Nothing is ever
overwritten unless the step says `overwrite: true`. The work is done by `bastidor.connectors.file_ops` and
`bastidor.connectors.zip_files`; each step's audit record says what went where, with sizes and SHA-256.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.expr import to_text
from bastidor.flow.model import NAME_PATTERN
from bastidor.flow.types import Text

RUN_FOLDER = "run"
"""The folder name that means the run's own folder (its downloads, its results)."""
AUDIT_FILES = 100
"""The most files listed one by one in a step's audit record; the rest are counted."""
WRITE_A_PLACE = ("write a file as {folder: NAME, path: sub/file.xlsx} (NAME declared under folders:, or run), "
                 "or as \"{{ file }}\" for a record from list_files")


PLACE_KEYS = ("folder", "path")


def _place(value: Any) -> Any:
    """A place as written: {folder, path} checked and kept as a mapping, or a `{{ }}` kept for the run."""
    if isinstance(value, str):
        if "{{" not in value:
            raise ValueError(f"'{value}' names no folder: {WRITE_A_PLACE}")
        return value
    if not isinstance(value, dict):
        raise ValueError(WRITE_A_PLACE)  # noqa: TRY004 (pydantic reports ValueError)
    unknown = [key for key in value if key not in PLACE_KEYS]
    if unknown:
        raise ValueError(f"unknown key '{unknown[0]}' in a file's place: it takes folder and path only")
    folder, path = value.get("folder"), value.get("path", "")
    if not isinstance(folder, str) or not folder:
        raise ValueError(f"a file's place needs folder: NAME; {WRITE_A_PLACE}")
    if isinstance(path, bool) or not isinstance(path, (str, int, Decimal)):
        raise ValueError("a file's path is text, e.g. path: 2026/orders.xlsx")  # noqa: TRY004
    return {"folder": folder, "path": "" if path is None else str(path)}


Place = Annotated[Any, BeforeValidator(_place), WithJsonSchema({"anyOf": [
    {"type": "object", "properties": {"folder": {"type": "string"}, "path": {"type": "string"}},
     "required": ["folder"], "additionalProperties": False},
    {"type": "string", "pattern": r"\{\{"}],
    "description": "{folder: NAME, path: relative/path} (NAME declared under folders:, or run), or a {{ }} "
                   "giving such a record (from list_files)."})]
"""A file or folder inside one of the flow's folders: {folder, path}, or a `{{ }}` giving one."""


def _folder_refs(where: tuple[Any, ...], place: Any) -> list[tuple[tuple[Any, ...], str, str]]:
    if isinstance(place, dict) and place.get("folder") != RUN_FOLDER:
        return [(where + ("folder",), "folder", place["folder"])]
    return []


class ListFilesParams(Params):
    """List the files of a folder."""

    folder: str = Field(description="A folder declared under `folders:`, or run.")
    pattern: Text = Field("*", description="Which files, as a glob on the name: *.xlsx, orders-*.csv (default: *).")
    recursive: bool = Field(False, description="Look in subfolders too (default: false).")
    into: str = Field(pattern=NAME_PATTERN, description="Variable that receives the files, newest first: records "
                      "of name, path, folder, relative, size (bytes) and modified.")

    def connection_refs(self) -> list[tuple[tuple[str, ...], str, str]]:
        """The declared folder this step names."""
        return [] if self.folder == RUN_FOLDER else [(("folder",), "folder", self.folder)]


class MoveCopyParams(Params):
    """Move or copy one file."""

    from_: Place = Field(alias="from", description="The file: {folder: NAME, path: ...}, or a list_files record.")
    to: Place = Field(description="Where to: {folder: NAME, path: new/name.xlsx}; a path that is empty, ends in / or "
                      "names an existing folder keeps the file's name.")
    overwrite: bool = Field(False, description="Replace a file already at the target (default: false, which "
                            "fails the step instead).")
    into: str | None = Field(None, pattern=NAME_PATTERN, description="Variable that receives where the file is "
                             "now: name, path, folder, relative, size, sha256.")

    def connection_refs(self) -> list[tuple[tuple[str, ...], str, str]]:
        """The declared folders this step names."""
        return _folder_refs(("from",), self.from_) + _folder_refs(("to",), self.to)


class ZipParams(Params):
    """Pack files into a zip archive."""

    files: list[Place] | None = Field(None, description="The files to pack, each {folder: NAME, path: ...} or a "
                                      "list_files record; or give folder and pattern instead.")
    folder: str | None = Field(None, description="Pack the files of this folder that match pattern.")
    pattern: Text = Field("*", description="With folder: which files, as a glob (default: *).")
    recursive: bool = Field(False, description="With folder: subfolders too, kept as folders in the archive.")
    to: Place = Field(description="The archive to write: {folder: NAME, path: name.zip}.")
    overwrite: bool = Field(False, description="Replace an archive already there (default: false).")

    @model_validator(mode="after")
    def _one_source(self) -> ZipParams:
        if (self.files is None) == (self.folder is None):
            raise ValueError("give either files: [...] or folder: NAME (with pattern), not both and not neither")
        return self

    def connection_refs(self) -> list[tuple[tuple[Any, ...], str, str]]:
        """The declared folders this step names."""
        refs = [] if self.folder in (None, RUN_FOLDER) else [(("folder",), "folder", self.folder)]
        for index, place in enumerate(self.files or []):
            refs += _folder_refs(("files", index), place)
        return refs + _folder_refs(("to",), self.to)


class UnzipParams(Params):
    """Unpack a zip archive into a folder."""

    file: Place = Field(description="The archive: {folder: NAME, path: x.zip}, or a list_files record.")
    to: Place = Field(description="The folder to unpack into: {folder: NAME, path: sub/folder} (created if "
                      "missing).")
    overwrite: bool = Field(False, description="Replace files already there (default: false, which fails the "
                        "step before anything is unpacked).")
    max_unpacked_mb: int = Field(256, ge=1, le=4096, description="Refuse archives that would unpack to more "
                                 "than this many MB (default: 256).")
    into: str | None = Field(None, pattern=NAME_PATTERN, description="Variable that receives the files unpacked: "
                             "records of name, path, folder, relative, size.")

    def connection_refs(self) -> list[tuple[tuple[str, ...], str, str]]:
        """The declared folders this step names."""
        return _folder_refs(("file",), self.file) + _folder_refs(("to",), self.to)


def _where(value: Any) -> str:
    if isinstance(value, dict) and "folder" in value:
        path = value.get("path") or ""
        return f"{value['folder']}/{path}".rstrip("/") if path else f"the folder {value['folder']}"
    return str(value).replace("{{", "").replace("}}", "").strip()


@action("list_files", params=ListFilesParams, kind="data",
        describe=lambda w: f"List the files {w['pattern']} in the folder {w['folder']:plain} into {w['into']:plain}"
        if w.has("pattern") else f"List the files in the folder {w['folder']:plain} into {w['into']:plain}")
def list_files(ctx, params):
    """List a folder's files matching a pattern, newest first, into a variable."""
    from bastidor.connectors.file_ops import FileOpsError
    from bastidor.connectors.file_ops import list_files as listed

    root = _root(ctx, params.folder)
    pattern = to_text(params.pattern) if params.pattern else "*"
    try:
        found = listed(root, pattern, bool(params.recursive))
    except FileOpsError as error:
        raise StepError(str(error)) from None
    records = [{"name": info.name, "path": str(info.path), "folder": params.folder, "relative": info.relative,
                "size": info.size, "modified": info.modified} for info in found]
    ctx.set_variable(params.into, records)
    return {"folder": params.folder, "pattern": pattern, "recursive": bool(params.recursive), "count": len(found),
            "files": [record["relative"] for record in records[:AUDIT_FILES]]}


@action("move_file", params=MoveCopyParams, kind="data",
        describe=lambda w: f"Move {_where(w.raw('from'))} to {_where(w.raw('to'))}")
def move_file(ctx, params):
    """Move a file to another place inside the flow's folders, never replacing one unless told to."""
    return _move_or_copy(ctx, params, moving=True)


@action("copy_file", params=MoveCopyParams, kind="data",
        describe=lambda w: f"Copy {_where(w.raw('from'))} to {_where(w.raw('to'))}")
def copy_file(ctx, params):
    """Copy a file to another place inside the flow's folders, never replacing one unless told to."""
    return _move_or_copy(ctx, params, moving=False)


def _move_or_copy(ctx: Any, params: MoveCopyParams, *, moving: bool) -> dict[str, Any]:
    from bastidor.connectors import file_ops

    source, _, _ = _resolve(ctx, params.from_, "from")
    target, target_folder, as_folder = _resolve(ctx, params.to, "to")
    try:
        file_ops.require_file(source, _shown(params.from_))
        final = file_ops.target_path(source, target, as_folder)
        final = file_ops.inside(_root(ctx, target_folder), str(final), target_folder)
        operation = file_ops.move_file if moving else file_ops.copy_file
        facts = operation(source, final, overwrite=bool(params.overwrite))
    except file_ops.FileOpsError as error:
        raise StepError(f"{'move_file' if moving else 'copy_file'}: {error}") from None
    if params.into:
        root = _root(ctx, target_folder)
        ctx.set_variable(params.into, {"name": final.name, "path": str(final), "folder": target_folder,
                                       "relative": file_ops.relative_name(root, final), "size": facts.size,
                                       "sha256": facts.sha256})
    return {"action": "moved" if moving else "copied", **facts.as_record()}


@action("zip", params=ZipParams, kind="data", describe=lambda w: f"Pack files into the archive {_where(w.raw('to'))}")
def zip_files(ctx, params):
    """Pack files from the flow's folders into one zip archive."""
    from bastidor.connectors import file_ops
    from bastidor.connectors.zip_files import make_zip

    entries = _zip_entries(ctx, params)
    target, target_folder, as_folder = _resolve(ctx, params.to, "to")
    if as_folder:
        raise StepError(f"zip: 'to' names a folder; give the archive's name, e.g. "
                        f"{{folder: {target_folder}, path: files.zip}}")
    try:
        files = []
        for path, name in entries:
            size, digest = file_ops.file_digest(path)
            files.append({"name": name, "from": str(path), "size": size, "sha256": digest})
        size = make_zip(entries, target, overwrite=bool(params.overwrite))
        archive_digest = file_ops.file_digest(target)[1]
    except (file_ops.FileOpsError, OSError) as error:
        raise StepError(f"zip: {_os_problem(error)}") from None
    return {"to": str(target), "size": size, "sha256": archive_digest, "count": len(files),
            "files": files[:AUDIT_FILES]}


def _zip_entries(ctx: Any, params: ZipParams) -> list[tuple[Path, str]]:
    """Each file to pack with its name inside the archive (its path relative to its folder)."""
    from bastidor.connectors import file_ops

    if params.folder is not None:
        root = _root(ctx, params.folder)
        try:
            found = file_ops.list_files(root, to_text(params.pattern or "*"), bool(params.recursive))
        except file_ops.FileOpsError as error:
            raise StepError(f"zip: {error}") from None
        if not found:
            raise StepError(f"zip: no file matches '{params.pattern}' in the folder {params.folder}; nothing to pack")
        return [(info.path, info.relative) for info in reversed(found)]
    entries = []
    for index, place in enumerate(params.files or []):
        path, folder, _ = _resolve(ctx, place, f"files[{index + 1}]")
        try:
            file_ops.require_file(path, _shown(place))
        except file_ops.FileOpsError as error:
            raise StepError(f"zip: {error}") from None
        entries.append((path, file_ops.relative_name(_root(ctx, folder), path)))
    return entries


@action("unzip", params=UnzipParams, kind="data",
        describe=lambda w: f"Unpack {_where(w.raw('file'))} into {_where(w.raw('to'))}")
def unzip(ctx, params):
    """Unpack a zip archive into a folder, refusing archive bombs, names leading out, and overwriting."""
    from bastidor.connectors import file_ops
    from bastidor.connectors.zip_files import unzip_archive

    archive, _, _ = _resolve(ctx, params.file, "file")
    folder_path, folder, _ = _resolve(ctx, params.to, "to")
    try:
        file_ops.require_file(archive, _shown(params.file))
        if folder_path.exists() and not folder_path.is_dir():
            raise file_ops.FileOpsError(f"{folder_path} is a file; 'to' names the folder to unpack into")
        archive_digest = file_ops.file_digest(archive)[1]
        written = unzip_archive(archive, folder_path, max_unpacked_mb=params.max_unpacked_mb or 256,
                                overwrite=bool(params.overwrite))
    except (file_ops.FileOpsError, OSError) as error:
        raise StepError(f"unzip: {_os_problem(error)}") from None
    root = _root(ctx, folder)
    records = [{"name": path.name, "path": str(path), "folder": folder,
                "relative": file_ops.relative_name(root, path), "size": size} for path, size in written]
    if params.into:
        ctx.set_variable(params.into, records)
    return {"file": str(archive), "sha256": archive_digest, "to": str(folder_path), "count": len(records),
            "files": [{"path": r["relative"], "size": r["size"]} for r in records[:AUDIT_FILES]]}


def _resolve(ctx: Any, place: Any, setting: str) -> tuple[Path, str, bool]:
    """(resolved path, folder name, written as a folder) for a place, refused when it leads outside its folder."""
    from bastidor.connectors.file_ops import FileOpsError, inside

    if not isinstance(place, dict) or not isinstance(place.get("folder"), str):
        raise StepError(f"'{setting}' came out as {to_text(place)!r}, which names no folder: {WRITE_A_PLACE}")
    folder, written = place["folder"], to_text(place.get("path") or "")
    root = _root(ctx, folder)
    try:
        path = inside(root, written, folder)
    except FileOpsError as error:
        raise StepError(f"'{setting}': {error}") from None
    return path, folder, written in ("", ".") or written.endswith("/")


def _root(ctx: Any, folder: str) -> Path:
    """The resolved folder a place names: a declared one, or the run's folder."""
    if folder == RUN_FOLDER:
        declared = getattr(ctx.scope.flow.header, "folders", None) or {}
        if RUN_FOLDER in declared:
            raise StepError("the folder name 'run' means the run's own folder; rename the folder declared as run "
                            "under folders:")
        ctx.state.run_dir.mkdir(parents=True, exist_ok=True)
        return Path(ctx.state.run_dir).resolve()
    return ctx.declared("folder", folder)


def _shown(place: Any) -> str:
    if isinstance(place, dict):
        return f"{to_text(place.get('path') or '')} in the folder {place.get('folder')}"
    return to_text(place)


def _os_problem(error: Exception) -> str:
    """One line for a FileOpsError, or an operating system error (disk full, no permission)."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error)
