"""Packaging: the wheel installs `bastidor` with its bots and connectors inside it, and the command."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    with zipfile.ZipFile(next(out.glob("bastidor-*.whl"))) as archive:
        yield archive


def test_bots_and_connectors_are_installed_inside_the_bastidor_package(wheel):
    names = wheel.namelist()
    assert "bastidor/bots/session.py" in names and "bastidor/connectors/excel.py" in names
    top_level = {name.split("/")[0] for name in names if not name.startswith("bastidor-")}
    assert top_level == {"bastidor"}, "no generic top-level modules such as bots or connectors"


def test_templates_the_report_and_portal_need_are_in_the_wheel(wheel):
    names = wheel.namelist()
    assert "bastidor/report/templates/report.html" in names
    assert "bastidor/demo_portal/templates/order_form.html" in names
    assert "bastidor/demo_portal/static/portal.css" in names


def test_schema_migrations_ship_in_the_wheel_so_an_installed_bastidor_can_upgrade_a_database(wheel):
    names = wheel.namelist()
    assert "bastidor/database/migrations/script.py.mako" in names
    assert "bastidor/database/migrations/versions/queue/queue_0001_baseline.py" in names
    assert "bastidor/database/migrations/env.py" in names


def test_installing_provides_the_bastidor_command(wheel):
    entry_points = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
    assert "bastidor = bastidor.cli.main:main" in wheel.read(entry_points).decode()


def test_runner_py_and_the_module_give_the_same_help():
    runner = subprocess.run([sys.executable, "runner.py", "--help"], cwd=REPO, capture_output=True, text=True)
    module = subprocess.run([sys.executable, "-m", "bastidor.cli.main", "--help"], cwd=REPO,
                            capture_output=True, text=True)
    assert runner.returncode == module.returncode == 0
    assert runner.stdout.replace("runner.py", "bastidor") == module.stdout.replace("main.py", "bastidor")
