"""Schema versions (Alembic) on SQLite and PostgreSQL: new databases made at head, older SQLite files adopted,
behind and ahead told apart with the command to run, `db status` and `db upgrade`, concurrent first use,
and a drift check that fails while a table changed without a revision."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from bastidor.cli.main import main
from bastidor.database.migrations import history
from bastidor.database.migrations.compare import differences
from bastidor.database.migrations.upgrades import locations
from bastidor.database.places import Places
from bastidor.database.schema import COMPONENTS, SchemaVersionError, head_revision, prepare_tables, read_version

REPO = Path(__file__).resolve().parents[1]
QUEUE_HEAD = head_revision("queue")
"""The queue's revision in this Bastidor; the tests add one after it, as a newer Bastidor would."""
QUEUE_NEXT = f"queue_{int(QUEUE_HEAD.rsplit('_', 1)[1]) + 1:04d}"
NEXT_QUEUE_REVISION = f'''
"""An index on work items by update time (a revision made for the tests).

Revision ID: {QUEUE_NEXT}
Revises: {QUEUE_HEAD}
"""

from alembic import op

revision = "{QUEUE_NEXT}"
down_revision = "{QUEUE_HEAD}"


def upgrade() -> None:
    op.create_index("ix_work_items_updated_at", "work_items", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_work_items_updated_at", "work_items")
'''


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path) -> Iterator[SimpleNamespace]:
    """Each backend: `engine(component)` opens where that component lives (its own SQLite file, or the one
    PostgreSQL database); `location` is what `--home` or `--database` names."""
    if request.param == "postgres":
        from bastidor.database.engines import postgres_engine

        url = request.getfixturevalue("pg_url")
        yield SimpleNamespace(kind="postgres", location=url, engine=lambda component: postgres_engine(url),
                              option=["--database", url])
        return
    engines: dict[str, Engine] = {}

    def engine(component: str) -> Engine:
        if component not in engines:
            engines[component] = create_engine(f"sqlite:///{tmp_path / f'{component}.db'}", poolclass=NullPool)
        return engines[component]

    yield SimpleNamespace(kind="sqlite", location=tmp_path, engine=engine, option=["--home", str(tmp_path)])
    for opened in engines.values():
        opened.dispose()


@pytest.fixture
def versions(tmp_path) -> Iterator[Path]:
    """A copy of the revision files that this test may add to (the real ones are left alone)."""
    copy = tmp_path / "versions"
    shutil.copytree(history.VERSIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    real = history.VERSIONS
    history.VERSIONS = copy
    history.revisions.cache_clear()
    yield copy
    history.VERSIONS = real
    history.revisions.cache_clear()


def add_queue_revision(versions: Path) -> None:
    """A second queue revision appears, as after installing a newer Bastidor."""
    (versions / "queue" / f"{QUEUE_NEXT}_updated_at_index.py").write_text(NEXT_QUEUE_REVISION)
    history.revisions.cache_clear()


def cli(capsys, *args: str) -> SimpleNamespace:
    """`runner.py ARGS` in this process: its exit code, standard output and standard error."""
    code = main(list(args))
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


def set_version(engine: Engine, component: str, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE alembic_version_{component} SET version_num = :revision"),
                           {"revision": revision})


# --- a new database ----------------------------------------------------------------------------------------


def test_a_new_database_gets_every_component_at_head_and_a_second_open_changes_nothing(database):
    for component in COMPONENTS:
        first = prepare_tables(database.engine(component), component)
        again = prepare_tables(database.engine(component), component)
        assert (first.before, first.after, first.changed) == (None, head_revision(component), True)
        assert (again.before, again.after, again.changed) == (head_revision(component),) * 2 + (False,)
        with database.engine(component).connect() as connection:
            assert read_version(connection, component) == head_revision(component)


def test_after_upgrading_every_component_matches_its_models_so_no_table_changed_without_a_revision(database):
    for component in COMPONENTS:
        prepare_tables(database.engine(component), component)
        with database.engine(component).connect() as connection:
            assert differences(connection, component) == [], (
                f"the {component} tables differ from what its revisions create: run "
                "`python -m bastidor.database.migrations.new 'what changed'`")


def test_the_drift_check_sees_a_table_that_differs_from_its_models(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'runs.db'}", poolclass=NullPool)
    prepare_tables(engine, "runs")
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE steps DROP COLUMN error_detail"))
        found = differences(connection, "runs")
    engine.dispose()
    assert [(change[0], change[2], change[3].name) for change in found] == [("add_column", "steps", "error_detail")]


def test_the_revision_files_read_without_alembic_agree_with_alembic():
    from alembic.script import ScriptDirectory

    from bastidor.database.migrations.apply import alembic_config

    for component in COMPONENTS:
        script = ScriptDirectory.from_config(alembic_config(None, component))
        walked = [revision.revision for revision in script.walk_revisions()]
        assert tuple(reversed(walked)) == history.revisions(component)
        assert script.get_current_head() == head_revision(component)


# --- a SQLite file made before schema versions ---------------------------------------------------------------

ADDED_LATER = {"run_requests": ("queue_name", "idle_resumes"), "items": ("exception",), "runs": ("pid",),
               "steps": ("error_detail",)}
INDEXES_ADDED_LATER = ("ix_run_requests_queue", "ix_work_items_run", "ix_items_started_at", "ix_items_item_ref",
                       "ix_items_exception_status")
TABLES_ADDED_LATER = ("services",)
FILE_COMPONENTS = [component for component in COMPONENTS if component in locations(Places(Path("home")))]
"""The components that live in a SQLite file of the home folder (the others only in a shared database)."""


def make_older_file(path: Path, component: str) -> None:
    """A file as an older Bastidor made it: `create_all` of the tables without the columns and indexes
    added later, and no version table."""
    from bastidor.database.schema import component_metadata

    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.begin() as connection:
        for metadata in component_metadata(component):
            metadata.create_all(connection)
        for index in INDEXES_ADDED_LATER:
            connection.execute(text(f"DROP INDEX IF EXISTS {index}"))
        for table in TABLES_ADDED_LATER:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        for table, columns in ADDED_LATER.items():
            for column in columns if inspect(connection).has_table(table) else ():
                connection.execute(text(f'ALTER TABLE {table} DROP COLUMN "{column}"'))
    engine.dispose()


def test_an_older_sqlite_run_store_is_adopted_with_its_runs_and_gets_the_columns_it_lacked(tmp_path):
    from bastidor.store import open_run_store

    path = tmp_path / "runs.db"
    make_older_file(path, "runs")
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO runs (run_id, flow_name, flow_path, flow_sha256, status, started_at, inputs, items_total, "
            "items_succeeded, items_failed) VALUES ('r1', 'Invoices', 'flows/invoice.yaml', 'abc', 'succeeded', "
            "'2026-01-05 10:00:00', '{}', 0, 0, 0)"))
    store = open_run_store(path)
    assert [run.run_id for run in store.list_runs()] == ["r1"]
    assert store.get_run("r1").pid is None
    store.close()
    with engine.connect() as connection:
        assert read_version(connection, "runs") == "runs_0001"
        assert differences(connection, "runs") == []
    engine.dispose()


def test_an_older_sqlite_queue_is_adopted_and_every_other_component_file_too(tmp_path):
    for component in FILE_COMPONENTS:
        make_older_file(tmp_path / f"{component}.db", component)
    done = main(["db", "upgrade", "--home", str(tmp_path)])
    assert done == 0
    for component in FILE_COMPONENTS:
        engine = create_engine(f"sqlite:///{tmp_path / f'{component}.db'}", poolclass=NullPool)
        with engine.connect() as connection:
            assert read_version(connection, component) == head_revision(component)
            assert differences(connection, component) == [], component
        engine.dispose()


# --- behind and ahead ----------------------------------------------------------------------------------------


def test_a_database_ahead_of_this_bastidor_is_refused_naming_both_versions(database):
    engine = database.engine("runs")
    prepare_tables(engine, "runs")
    set_version(engine, "runs", "runs_0042")
    with pytest.raises(SchemaVersionError) as refused:
        prepare_tables(engine, "runs", upgrade=True)
    message = str(refused.value)
    assert "runs_0042" in message and "runs_0001" in message and "component runs" in message
    assert "Upgrade this machine's Bastidor" in message


def test_a_shared_database_behind_names_the_upgrade_command_until_it_is_upgraded(pg_url, versions):
    from bastidor.database.engines import postgres_engine

    engine = postgres_engine(pg_url)
    prepare_tables(engine, "queue")
    add_queue_revision(versions)
    with pytest.raises(SchemaVersionError) as behind:
        prepare_tables(engine, "queue")
    assert str(behind.value) == (
        f"the database at {pg_url} has schema {QUEUE_HEAD} for component queue, this Bastidor needs {QUEUE_NEXT}: "
        f"run `runner.py db upgrade --database {pg_url}` (or start `serve`, which upgrades it)")
    change = prepare_tables(engine, "queue", upgrade=True)
    assert (change.before, change.after) == (QUEUE_HEAD, QUEUE_NEXT)
    assert "ix_work_items_updated_at" in {index["name"] for index in inspect(engine).get_indexes("work_items")}


def test_an_sqlite_queue_behind_is_upgraded_when_it_is_opened(tmp_path, versions):
    from bastidor.queue import open_work_queue

    open_work_queue(tmp_path / "queue.db").close()
    add_queue_revision(versions)
    open_work_queue(tmp_path / "queue.db").close()
    engine = create_engine(f"sqlite:///{tmp_path / 'queue.db'}", poolclass=NullPool)
    with engine.connect() as connection:
        assert read_version(connection, "queue") == QUEUE_NEXT
    engine.dispose()


# --- db status, db upgrade, serve ------------------------------------------------------------------------------


def test_db_status_exits_1_while_a_component_is_behind_and_db_upgrade_prints_each_from_and_to(
        database, versions, capsys):
    for component in COMPONENTS:
        prepare_tables(database.engine(component), component)
    add_queue_revision(versions)
    status = cli(capsys, "db", "status", *database.option)
    assert status.returncode == 1
    queue_line = next(line for line in status.stdout.splitlines() if line.split()[:1] == ["queue"])
    assert queue_line.split()[:4] == ["queue", QUEUE_HEAD, QUEUE_NEXT, "behind:"]
    assert "runner.py db upgrade" in queue_line
    upgrade = cli(capsys, "db", "upgrade", *database.option)
    assert upgrade.returncode == 0, upgrade.stderr
    lines = [line.split() for line in upgrade.stdout.splitlines()[1:]]
    assert ["queue", QUEUE_HEAD, "->", QUEUE_NEXT] in lines
    assert ["runs", "runs_0001", "(up", "to", "date)"] in lines
    assert cli(capsys, "db", "status", *database.option).returncode == 0


def test_db_status_and_db_upgrade_exit_1_when_a_component_is_ahead(database, capsys):
    for component in COMPONENTS:
        prepare_tables(database.engine(component), component)
    set_version(database.engine("console"), "console", "console_0009")
    status = cli(capsys, "db", "status", *database.option)
    assert status.returncode == 1
    assert "ahead: a newer Bastidor migrated it" in status.stdout
    upgrade = cli(capsys, "db", "upgrade", *database.option)
    assert upgrade.returncode == 1
    assert upgrade.stderr.count("\n") == 1 and "console_0009" in upgrade.stderr and "Traceback" not in upgrade.stderr


def test_db_status_of_a_new_home_lists_every_component_as_made_on_first_use(tmp_path, capsys):
    status = cli(capsys, "db", "status", "--home", str(tmp_path / "new-home"))
    assert status.returncode == 0
    assert [line.split()[0] for line in status.stdout.splitlines()[2:]] == FILE_COMPONENTS
    assert status.stdout.count("no file yet: made when first used") == len(FILE_COMPONENTS)
    assert not (tmp_path / "new-home").exists(), "status changes nothing"


def test_serve_upgrades_a_shared_database_behind_before_it_starts_and_refuses_one_ahead(pg_url, versions, capsys,
                                                                                        tmp_path, monkeypatch):
    from bastidor.cli.commands_db import upgrade_before_start
    from bastidor.database.engines import postgres_engine

    monkeypatch.setenv("BASTIDOR_DATABASE_URL", pg_url)
    engine = postgres_engine(pg_url)
    for component in COMPONENTS:
        prepare_tables(engine, component)
    add_queue_revision(versions)
    assert upgrade_before_start(tmp_path) is True
    assert f"schema of queue upgraded: {QUEUE_HEAD} -> {QUEUE_NEXT} ({pg_url})" in capsys.readouterr().out
    set_version(engine, "runs", "runs_0042")
    (tmp_path / "schedules.yaml").write_text("schedules: []\n")
    refused = cli(capsys, "serve", "--home", str(tmp_path), "--schedules", str(tmp_path / "schedules.yaml"))
    assert refused.returncode == 2
    assert "runs_0042" in refused.stderr and "Upgrade this machine's Bastidor" in refused.stderr


# --- several processes at once -------------------------------------------------------------------------------

OPENER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from sqlalchemy import create_engine
    from bastidor.database.schema import COMPONENTS, prepare_tables

    location, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if location.startswith("postgresql"):
        from bastidor.database.engines import postgres_engine
        engines = {component: postgres_engine(location) for component in COMPONENTS}
    else:
        engines = {component: create_engine(f"sqlite:///{location}/{component}.db") for component in COMPONENTS}
    (ready / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    for component, engine in engines.items():
        prepare_tables(engine, component)
""")


def test_processes_opening_a_new_database_at_the_same_moment_all_succeed(database, tmp_path):
    ready, go = tmp_path / "ready", tmp_path / "go"
    ready.mkdir()
    if database.kind == "sqlite":
        for component in COMPONENTS:  # older files to adopt: the baseline's work races too
            make_older_file(Path(database.location) / f"{component}.db", component)
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, str(database.location), str(ready), str(go)],
                                cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    deadline = time.monotonic() + 60
    while len(list(ready.iterdir())) < len(openers) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    errors = [opener.communicate(timeout=120)[1] for opener in openers]
    assert [opener.returncode for opener in openers] == [0] * len(openers), errors
    for component in COMPONENTS:
        with database.engine(component).connect() as connection:
            assert read_version(connection, component) == head_revision(component)


# --- start-up cost, and writing revisions ---------------------------------------------------------------------


def test_opening_a_store_at_head_and_db_help_do_not_import_alembic(tmp_path):
    from bastidor.store import open_run_store

    open_run_store(tmp_path / "runs.db").close()
    script = textwrap.dedent(f"""
        import contextlib, io, json, sys
        from bastidor.cli.main import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main(["db", "--help"])
            except SystemExit:
                pass
        help_imports = sorted(name for name in sys.modules if name.split(".")[0] in ("alembic", "sqlalchemy"))
        from bastidor.store import open_run_store
        open_run_store({str(tmp_path / 'runs.db')!r}).close()
        print(json.dumps([help_imports, "alembic" in sys.modules]))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[], False]


def test_the_revision_helper_writes_a_base_revision_for_a_new_component_then_nothing(tmp_path, versions, monkeypatch):
    from bastidor.database import schema
    from bastidor.database.migrations.new import write_revision

    (tmp_path / "probe_models.py").write_text(textwrap.dedent("""
        from sqlalchemy import Column, Integer, MetaData, String, Table
        metadata = MetaData()
        probes = Table("probes", metadata, Column("id", Integer, primary_key=True),
                       Column("name", String(50), nullable=False, index=True))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(schema.COMPONENTS, "probe", ("probe_models",))
    written = write_revision("probe", "create the probe table")
    assert written == versions / "probe" / "probe_0001_create_the_probe_table.py"
    assert "op.create_table('probes'" in written.read_text() or 'op.create_table("probes"' in written.read_text()
    assert write_revision("probe", "nothing changed") is None
    engine = create_engine(f"sqlite:///{tmp_path / 'probe.db'}", poolclass=NullPool)
    assert prepare_tables(engine, "probe").after == "probe_0001"
    with engine.connect() as connection:
        assert differences(connection, "probe") == []
    engine.dispose()
    assert os.path.exists(history.VERSIONS / "queue" / "queue_0001_baseline.py")
