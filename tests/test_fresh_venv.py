"""A new user's first minutes: a checkout, a brand-new virtual environment, `bash tools/setup.sh`, and then
`runner.py --help` and `runner.py validate` work. This catches a dependency used by the code but missing
from pyproject.toml, which the development environment (where it happens to be installed) never shows.

It takes about a minute: pip installs every dependency into the new environment, from pip's cache and the
indexes configured for pip on this machine (no download when they hold the wheels). The browser is not
installed again: tools/setup.sh finds the one on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOT_PART_OF_A_CHECKOUT = {".git", ".bastidor", "build", "dist", "bastidor.egg-info", ".pytest_cache", ".ruff_cache",
                          "var", ".ci-venv"}
"""Top-level folders made by using the repository (builds, runs, caches), which a fresh checkout does not have."""
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def copy_checkout(target: Path) -> Path:
    """The repository's files as a fresh checkout has them, copied to `target` (so the editable install the
    set-up makes never touches the repository the other tests run from)."""
    def left_out(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == REPO
        return {name for name in names if name == "__pycache__" or (top and name in NOT_PART_OF_A_CHECKOUT)}

    shutil.copytree(REPO, target, ignore=left_out)
    return target


def venv_environment(venv: Path) -> dict[str, str]:
    """The environment of a shell where `venv` is activated, as `source venv/bin/activate` makes it."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    environment["VIRTUAL_ENV"] = str(venv)
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    return environment


def test_a_fresh_venv_set_up_by_setup_sh_shows_help_and_validates_a_flow(tmp_path):
    if not any(shutil.which(name) for name in BROWSERS):
        pytest.skip("no Chromium or Chrome on PATH: tools/setup.sh would download one, which needs the internet")
    checkout = copy_checkout(tmp_path / "checkout")
    venv = tmp_path / "venv"
    # The interpreter running the tests stands for the user's `python3`: the same version the suite supports.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    environment = venv_environment(venv)
    setup = subprocess.run(["bash", "tools/setup.sh"], cwd=checkout, env=environment, capture_output=True,
                           text=True, timeout=1200)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "setup: done" in setup.stdout and "browser download" not in setup.stdout

    python = str(venv / "bin" / "python")
    # From outside the checkout, `import bastidor` can only find the package through the new environment.
    where = subprocess.run([python, "-c", "import bastidor; print(bastidor.__file__)"], cwd=tmp_path,
                           env=environment, capture_output=True, text=True, timeout=120)
    assert where.stdout.strip() == str(checkout / "bastidor" / "__init__.py"), where.stdout + where.stderr
    # setup.sh brought the environment's own setuptools up to the version that reads the licence expression
    # (a build that is not isolated, `pip wheel --no-build-isolation .`, uses it).
    tools = subprocess.run([python, "-c", "import setuptools; print(setuptools.__version__)"], cwd=tmp_path,
                           env=environment, capture_output=True, text=True, timeout=120)
    assert int(tools.stdout.split(".")[0]) >= 77, tools.stdout + tools.stderr

    shown = subprocess.run([python, "runner.py", "--help"], cwd=checkout, env=environment, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "validate" in shown.stdout and "serve" in shown.stdout

    checked = subprocess.run([python, "runner.py", "validate", "flows/invoice.yaml"], cwd=checkout,
                             env=environment, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 flow file(s) valid" in checked.stdout
