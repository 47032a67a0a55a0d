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


def environment_yml_requirements():
    """{name: minimum version or None} in environment.yml (conda and pip sections)."""
    text = (REPO / "environment.yml").read_text()
    found = {}
    for line in text.split("dependencies:", 1)[1].splitlines():
        item = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*(>=\s*([0-9][^\s#]*))?", line.split("#")[0])
        if item and not line.strip().startswith("- -e"):
            found[item.group(1).lower()] = item.group(3)
    found.pop("pip", None)
    found.pop("python", None)
    return found


def pyproject_requirements():
    """{conda name: minimum version or None} of pyproject's dependencies and dev extra."""
    project = pyproject()["project"]
    found = {}
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        name = requirement_name(requirement)
        minimum = re.search(r">=\s*([0-9][^,;\s]*)", requirement)
        found[CONDA_NAMES.get(name, name)] = minimum.group(1) if minimum else None
    return found


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    assert environment_yml_requirements() == pyproject_requirements()  # names and minimums
    assert "- -e ." in (REPO / "environment.yml").read_text()


def test_environment_yml_uses_conda_forge_only():
    text = (REPO / "environment.yml").read_text()
    channel_lines = text.split("channels:", 1)[1].split("dependencies:")[0]
    channels = re.findall(r"^\s*-\s+(\S+)", channel_lines, flags=re.M)
    assert channels == ["conda-forge", "nodefaults"]  # the pytorch channel is no longer updated
    assert re.search(r"^\s*-\s+pytorch>=", text, flags=re.M)  # conda-forge's name for torch


def test_license_file_is_mit_and_matches_pyproject():
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the mnistlab authors" in text
    assert pyproject()["project"]["license"] == {"text": "MIT"}


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
    assert {".venv/", "data/", "*.pt", "*.pth", "checkpoints/"} <= set(ignored)
    assert {"build/", "dist/"} <= set(ignored)  # what pip wheel . and python -m build leave


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
