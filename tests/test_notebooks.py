"""Static checks of the notebooks (nbval re-runs them; these check what nbval cannot)."""

import json
import re
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = [
    "01_tensors", "02_autograd", "03_data_visualisation", "04_mlp", "05_cnn", "06_gpu",
]
REPOSITORY = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
MACHINE_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/|/Users/|C:\\\\)")


def load(name):
    return json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())


def source(cell):
    return "".join(cell["source"])


def test_the_series_is_complete_and_ordered():
    found = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9]*.ipynb"))
    assert found == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_opening_cell_has_title_goals_and_colab_badge(name):
    first = load(name)["cells"][0]
    text = source(first)
    assert first["cell_type"] == "markdown" and text.startswith("# ")
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    badge = f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/{name}.ipynb"
    assert badge in text
    assert "colab.research.google.com/github/" not in text.replace(badge, "")  # no stale badge
    assert "After this notebook" in text


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_setup_cell_installs_from_the_project_repository(name):
    setup = load(name)["cells"][1]
    text = source(setup)
    assert setup["cell_type"] == "code" and 'find_spec("mnistlab") is None' in text
    assert re.findall(r"git\+(\S+?)\"", text) == [REPOSITORY]
    assert setup["outputs"] == []  # does nothing where mnistlab is installed


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_exercises_have_hidden_solutions_that_run(name):
    cells = load(name)["cells"]
    solutions = [c for c in cells if c["cell_type"] == "code" and "# @title Solution" in source(c)]
    assert 2 <= len(solutions) <= 4
    for cell in solutions:
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True
        assert cell["execution_count"] is not None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_stored_outputs_are_clean(name):
    code = [c for c in load(name)["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "re-run top to bottom in a fresh kernel"
    for i, cell in enumerate(code):
        for output in cell["outputs"]:
            where = f"{name}, code cell {i}"
            assert output["output_type"] != "error", where
            assert output.get("name") != "stderr", f"{where} writes to stderr"
            assert not MACHINE_PATH.search(json.dumps(output)), f"{where} shows a machine path"
            if output["output_type"] == "execute_result":
                text = "".join(output["data"].get("text/plain", ""))
                assert not text.startswith(("<Figure", "<matplotlib", "[<matplotlib")), where
