"""Tests for the project's set-up files: pyproject, environment.yml, run.py, CI, README."""

import os
import re
import subprocess
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda name where they differ


def requirement_name(requirement):
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def environment_yml_names():
    """Package names in environment.yml (conda and pip sections), without versions."""
    text = (REPO / "environment.yml").read_text()
    names = set()
    for line in text.split("dependencies:", 1)[1].splitlines():
        item = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)", line.split("#")[0])
        if item and not line.strip().startswith("- -e"):
            names.add(item.group(1).lower())
    return names - {"python", "pip"}


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = pyproject()["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    expected = {CONDA_NAMES.get(requirement_name(r), requirement_name(r)) for r in wanted}
    assert environment_yml_names() == expected
    assert "- -e ." in (REPO / "environment.yml").read_text()


def test_dev_extra_has_notebook_and_test_tools():
    dev = {requirement_name(r) for r in pyproject()["project"]["optional-dependencies"]["dev"]}
    assert {"jupyterlab", "nbval", "pytest", "ruff"} <= dev


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    commands = re.findall(r"^python3 run\.py (\w+)$", readme, flags=re.M)
    assert commands[:2] == ["lab", "test"]  # the README opens with the two commands
    assert re.search(r"^python3 run\.py test$", ci, flags=re.M)


def test_data_venv_and_checkpoints_are_git_ignored():
    ignored = (REPO / ".gitignore").read_text().split()
    assert {".venv/", "data/", "*.pt", "*.pth"} <= set(ignored)


def test_importing_mnistlab_has_no_side_effects(tmp_path):
    code = (
        "import matplotlib, torch; before = dict(matplotlib.rcParams); "
        "import mnistlab; "
        "assert dict(matplotlib.rcParams) == before, 'rcParams changed'; "
        "assert torch.initial_seed() != 0, 'seeded at import'"
    )
    env = dict(os.environ, MNISTLAB_DATA_DIR=str(tmp_path / "data"), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert not (tmp_path / "data").exists()  # nothing downloaded or created
